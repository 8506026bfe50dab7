// Package redistest starts real redis-server processes for tests: one
// server, or a three-node cluster. Each lives in the test's temporary
// directory, keeps nothing on disk (no RDB, no AOF), listens on loopback
// only and stops when the test ends.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startTimeout bounds how long a server or a cluster may take to come up.
const startTimeout = 30 * time.Second

// Server is one redis-server process.
type Server struct {
	t    testing.TB
	port int
	dir  string
	args []string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Start runs redis-server on a free loopback port and stops it when the
// test ends. It fails the test (it does not skip it) when redis-server is
// not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	s := newServer(t, t.TempDir())
	t.Cleanup(s.Stop)
	s.Start()
	return s
}

// StartWith is Start with more redis-server arguments (TLS, ACL users,
// ...). The plain port stays, and PING on it must answer: keep the
// default user able to PING.
func StartWith(t testing.TB, args ...string) *Server {
	t.Helper()
	s := newServer(t, t.TempDir(), args...)
	t.Cleanup(s.Stop)
	s.Start()
	return s
}

// FreePort is a loopback TCP port nothing listens on now.
func FreePort(t testing.TB) int { return freePort(t) }

func newServer(t testing.TB, dir string, extra ...string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server not found: apt-get install -y redis-server")
	}
	port := freePort(t)
	args := []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--dir", dir,
		"--save", "",
		"--appendonly", "no",
		"--logfile", filepath.Join(dir, "redis.log"),
	}
	return &Server{t: t, port: port, dir: dir, args: append(args, extra...)}
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is the server's redis:// URL (database 0).
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Start starts the server again on the same port after Stop (for outage
// tests) and waits until it answers PING. Data does not survive: the
// server keeps nothing on disk. Starting a running server does nothing.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command("redis-server", s.args...)
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.cmd = cmd
	if err := waitFor(func(ctx context.Context) error { return ping(ctx, s.Addr()) }); err != nil {
		s.t.Fatalf("redis-server on %s did not answer: %v\n%s", s.Addr(), err, s.log())
	}
}

// Stop kills the server and waits for it to exit. Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait() // killed: its exit status says so
	s.cmd = nil
}

func (s *Server) log() string {
	data, err := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		return ""
	}
	return string(data)
}

// Cluster is a Redis Cluster of three primaries without replicas.
type Cluster struct {
	nodes []*Server
}

// StartCluster runs three redis-server nodes with cluster mode on, joins
// them with redis-cli --cluster create and waits until every node reports
// cluster_state:ok. The nodes stop when the test ends.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Fatal("redis-cli not found: apt-get install -y redis-server")
	}
	c := &Cluster{}
	for i := range 3 {
		dir := filepath.Join(t.TempDir(), "node"+strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s := newServer(t, dir,
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-port", strconv.Itoa(freePort(t)),
		)
		t.Cleanup(s.Stop)
		s.Start()
		c.nodes = append(c.nodes, s)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, s := range c.nodes {
		err := waitFor(func(ctx context.Context) error { return clusterOK(ctx, s.Addr()) })
		if err != nil {
			t.Fatalf("cluster node %s: %v", s.Addr(), err)
		}
	}
	return c
}

// Addrs are the nodes' host:port.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.nodes))
	for i, s := range c.nodes {
		addrs[i] = s.Addr()
	}
	return addrs
}

// URL names every node in the form that projection.ConfigFromEnv reads
// as a cluster: redis://node1?addr=node2&addr=node3.
func (c *Cluster) URL() string {
	addrs := c.Addrs()
	return "redis://" + addrs[0] + "?addr=" + strings.Join(addrs[1:], "&addr=")
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before redis-server binds it; on loopback in a test that is
// rare enough.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitFor retries check until it succeeds or startTimeout passes.
func waitFor(check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-tick.C:
		}
	}
}

func ping(ctx context.Context, addr string) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	return rdb.Ping(ctx).Err()
}

func clusterOK(ctx context.Context, addr string) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	info, err := rdb.ClusterInfo(ctx).Result()
	if err != nil {
		return err
	}
	if !strings.Contains(info, "cluster_state:ok") {
		return fmt.Errorf("cluster not ready:\n%s", info)
	}
	return nil
}
