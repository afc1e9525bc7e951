// Package kubetest runs a real Kubernetes API server for tests: Debian's
// etcd and a kube-apiserver built from the k8s.io/kubernetes module
// (scripts/kube-apiserver.sh), on loopback, with certificates it generates.
// Building kube-apiserver takes minutes, so tests that use it run only with
// KEYROT_KUBE=1 and skip otherwise.
//
// One server is started per test binary, on first use (Shared), and each
// test works in a namespace of its own (Server.Namespace). Call Stop from
// TestMain after m.Run; the processes also die with the test binary.
package kubetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// EnvFlag is the environment variable that enables the tests using a real
// API server.
const EnvFlag = "KEYROT_KUBE"

// Server is a running etcd and kube-apiserver.
type Server struct {
	// URL is the API server's address, https://127.0.0.1:PORT.
	URL string
	// StartupTime is how long etcd and kube-apiserver took to become ready
	// (without building kube-apiserver).
	StartupTime time.Duration

	dir   string
	ca    *certAuthority
	procs []*process
	admin *rest.Config
}

type process struct {
	name string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}
	mu   *sync.Mutex
}

var (
	sharedMu  sync.Mutex
	shared    *Server
	sharedErr error
)

// Enabled reports whether KEYROT_KUBE asks for the real API server.
func Enabled() bool {
	v := os.Getenv(EnvFlag)
	return v != "" && v != "0" && v != "false"
}

// Shared returns this test binary's API server, starting it on first use.
// Without KEYROT_KUBE=1 it skips t.
func Shared(t testing.TB) *Server {
	t.Helper()
	if !Enabled() {
		t.Skipf("%s is not set: no real Kubernetes API server (set %s=1; scripts/kube-apiserver.sh builds kube-apiserver, which takes minutes)", EnvFlag, EnvFlag)
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		shared, sharedErr = Start(ctx, Options{})
		cancel()
		if sharedErr == nil {
			t.Logf("kubetest: etcd and kube-apiserver ready at %s in %s", shared.URL, shared.StartupTime.Round(time.Millisecond))
		}
	}
	if sharedErr != nil {
		t.Fatalf("start Kubernetes API server: %v", sharedErr)
	}
	return shared
}

// Stop stops the shared server, if one was started. Call it from TestMain.
func Stop() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		shared.Close()
		shared = nil
	}
}

// Options say where the binaries are; empty fields are found as described.
type Options struct {
	// Etcd is the etcd binary: KEYROT_ETCD, else etcd on PATH (Debian's
	// etcd-server package).
	Etcd string
	// APIServer is the kube-apiserver binary: KEYROT_KUBE_APISERVER, else
	// what scripts/kube-apiserver.sh prints (building it if needed).
	APIServer string
}

// Start starts etcd and kube-apiserver in a new temporary directory and
// waits until the API server's /readyz answers ok.
func Start(ctx context.Context, o Options) (*Server, error) {
	etcdBin, apiBin, err := o.binaries(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "keyrot-kube-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
	ready := false
	defer func() {
		if !ready {
			s.Close()
		}
	}()
	begin := time.Now()
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	if err := s.start("etcd", etcdBin,
		"--name", "kubetest",
		"--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "kubetest="+peerURL,
		"--log-level", "warn",
	); err != nil {
		return nil, err
	}

	s.ca, err = newCertAuthority()
	if err != nil {
		return nil, err
	}
	files, err := s.ca.writeServerFiles(dir)
	if err != nil {
		return nil, err
	}
	s.URL = fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	if err := s.start("kube-apiserver", apiBin,
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		// The "kubernetes" Service's endpoints may not be a loopback
		// address; nothing here routes to it.
		"--endpoint-reconciler-type", "none",
		"--secure-port", fmt.Sprint(ports[2]),
		"--cert-dir", filepath.Join(dir, "certs"),
		"--tls-cert-file", files.serverCert, "--tls-private-key-file", files.serverKey,
		"--client-ca-file", files.caCert,
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", files.saPublic,
		"--service-account-signing-key-file", files.saKey,
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--authorization-mode", "Node,RBAC",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--v", "1",
	); err != nil {
		return nil, err
	}
	s.admin, err = s.UserConfig("kubetest-admin", "system:masters")
	if err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	s.StartupTime = time.Since(begin)
	ready = true
	return s, nil
}

func (o Options) binaries(ctx context.Context) (etcd, api string, err error) {
	etcd = firstNonEmpty(o.Etcd, os.Getenv("KEYROT_ETCD"))
	if etcd == "" {
		if etcd, err = exec.LookPath("etcd"); err != nil {
			return "", "", fmt.Errorf("etcd not found (apt-get install etcd-server, or set KEYROT_ETCD): %w", err)
		}
	}
	api = firstNonEmpty(o.APIServer, os.Getenv("KEYROT_KUBE_APISERVER"))
	if api != "" {
		return etcd, api, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", "", err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "kube-apiserver.sh"))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("scripts/kube-apiserver.sh: %w\n%s", err, tail(stderr.String(), 4000))
	}
	return etcd, strings.TrimSpace(string(out)), nil
}

// repoRoot finds the directory holding go.mod above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "kube-apiserver.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("scripts/kube-apiserver.sh not found above the working directory (set KEYROT_KUBE_APISERVER)")
		}
		dir = parent
	}
}

// start runs one process, its output kept for error messages; it is killed
// if the test binary dies.
func (s *Server) start(name, bin string, args ...string) error {
	p := &process{name: name, log: &bytes.Buffer{}, done: make(chan struct{}), mu: &sync.Mutex{}}
	p.cmd = exec.Command(bin, args...)
	w := &lockedWriter{mu: p.mu, b: p.log}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	p.cmd.SysProcAttr = procAttr()
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	s.procs = append(s.procs, p)
	return nil
}

func (s *Server) waitReady(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(s.admin)
	if err != nil {
		return err
	}
	var last error
	for {
		for _, p := range s.procs {
			select {
			case <-p.done:
				return fmt.Errorf("%s exited: %s", p.name, p.output())
			default:
			}
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(rctx)
		cancel()
		if err == nil && strings.TrimSpace(string(body)) == "ok" {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver not ready at %s: %v (last: %v)\nkube-apiserver: %s\netcd: %s",
				s.URL, ctx.Err(), last, tail(s.procs[len(s.procs)-1].output(), 4000), tail(s.procs[0].output(), 2000))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Close stops kube-apiserver and etcd and removes their files.
func (s *Server) Close() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	s.procs = nil
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// Config returns a rest.Config of a cluster administrator (group
// system:masters); each call returns a new copy.
func (s *Server) Config() *rest.Config { return rest.CopyConfig(s.admin) }

// Clientset returns a typed client of a cluster administrator.
func (s *Server) Clientset(t testing.TB) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(s.Config())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// UserConfig returns a rest.Config that authenticates as user in groups
// with a client certificate from the server's CA: with no group beyond
// system:authenticated, it may do only what RBAC grants that user.
func (s *Server) UserConfig(user string, groups ...string) (*rest.Config, error) {
	cert, key, err := s.ca.clientCert(user, groups)
	if err != nil {
		return nil, err
	}
	return &rest.Config{
		Host:    s.URL,
		QPS:     100,
		Burst:   200,
		Timeout: 30 * time.Second,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   s.ca.certPEM,
			CertData: cert,
			KeyData:  key,
		},
	}, nil
}

// Namespace creates a namespace of its own for t, with labels, deleted
// when t ends.
func (s *Server) Namespace(t testing.TB, labels map[string]string) string {
	t.Helper()
	cs := s.Clientset(t)
	ns, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: namespacePrefix(t.Name()), Labels: labels},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	return ns.Name
}

// namespacePrefix makes a DNS label prefix from a test name.
func namespacePrefix(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	p := strings.Trim(b.String(), "-")
	if len(p) > 40 {
		p = strings.Trim(p[:40], "-")
	}
	if p == "" {
		p = "test"
	}
	return p + "-"
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// Keep the last megabyte: enough for an error message.
	if w.b.Len() > 1<<20 {
		rest := append([]byte(nil), w.b.Bytes()[w.b.Len()-(1<<19):]...)
		w.b.Reset()
		w.b.Write(rest)
	}
	return w.b.Write(p)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// WriteKubeconfig writes a kubeconfig file at path whose context name
// reaches the server as user in groups (UserConfig), and returns path.
func (s *Server) WriteKubeconfig(path, name, user string, groups ...string) (string, error) {
	cfg, err := s.UserConfig(user, groups...)
	if err != nil {
		return "", err
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	kc.CurrentContext = name
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return "", fmt.Errorf("write kubeconfig: %w", err)
	}
	return path, nil
}
