// Command deploygen writes keyrot's deployment templates from
// internal/permissions and the state machine definition:
//
//	go generate ./deploy
//
// runs it from the repository root (deploy/doc.go). -root is the
// repository root, -out where the files go (the root by default).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/keyrot/keyrot/internal/deploygen"
)

func main() {
	root := flag.String("root", ".", "repository root")
	out := flag.String("out", "", "directory to write into (the root when empty)")
	flag.Parse()
	dir := *out
	if dir == "" {
		dir = *root
	}
	if err := deploygen.Write(*root, dir); err != nil {
		fmt.Fprintln(os.Stderr, "deploygen:", err)
		os.Exit(1)
	}
}
