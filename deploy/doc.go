// Package deploy holds keyrot's deployment files: the container image
// definition (container/Dockerfile) and the Helm chart (helm/keyrot). It has
// no code; its tests parse the Dockerfile, render and lint the chart, apply
// it to a real Kubernetes API server with a server-side dry run, and run the
// release build the image uses.
package deploy
