package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Cluster is a throwaway PostgreSQL server of one test, which the test may
// stop, start and restart (the server behind MIXIN_TEST_POSTGRES is shared
// and must never be). It runs on a free loopback port with fsync off but
// synchronous commits, as an unprivileged user when the test runs as root
// (the server refuses root).
type Cluster struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	cred *syscall.Credential
}

// NewCluster initialises and starts a cluster, stopped and removed when the
// test ends. Without the server's programs the test skips, unless
// MIXIN_REQUIRE_POSTGRES=1 makes that a failure.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := binDir()
	if bin == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatal("PostgreSQL's programs (initdb, pg_ctl) are not installed")
		}
		t.Skip("needs PostgreSQL's programs (initdb, pg_ctl)")
	}
	c := &Cluster{t: t, bin: bin}
	dir, err := os.MkdirTemp("", "mixin-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() { c.pgctl("stop", "-m", "immediate"); _ = os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		c.cred = unprivileged(t)
		if err := os.Chmod(dir, 0o711); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	c.port = freePort(t)
	if out, err := c.run(filepath.Join(bin, "initdb"), "-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c.Start()
	return c
}

// URL is the cluster's postgres:// URL.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	// fsync off: the tests crash the server's processes, not the machine,
	// so what reached the kernel survives; commits stay synchronous, so a
	// commit the client saw is in the WAL (synchronous_commit=off would
	// lose the last ones in an immediate stop).
	opts := fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -c fsync=off -c full_page_writes=off -c max_connections=100", c.port, c.dir)
	if out, err := c.pgctl("start", "-w", "-t", "60", "-l", filepath.Join(c.dir, "server.log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		c.t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the server: mode "fast" ends the sessions and shuts down
// cleanly, "immediate" as a crash would.
func (c *Cluster) Stop(mode string) {
	c.t.Helper()
	if out, err := c.pgctl("stop", "-w", "-t", "60", "-m", mode); err != nil {
		c.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) pgctl(args ...string) ([]byte, error) {
	return c.run(filepath.Join(c.bin, "pg_ctl"), append([]string{"-D", c.data()}, args...)...)
}

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd.CombinedOutput()
}

// binDir finds the directory of initdb and pg_ctl: Debian's versioned
// directories first (the newest), then PATH.
func binDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p)
		}
	}
	return ""
}

// unprivileged is the user the server runs as when the test is root:
// PGCI_USER (as .ci/postgres.sh names it), mixinpg, or nobody.
func unprivileged(t testing.TB) *syscall.Credential {
	for _, name := range []string{os.Getenv("PGCI_USER"), "mixinpg", "nobody"} {
		if name == "" {
			continue
		}
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	t.Fatal("running as root and no unprivileged user (mixinpg, nobody) to run PostgreSQL as")
	return nil
}

// freePort finds a loopback port nothing listens on.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_ = l.(*net.TCPListener).SetDeadline(time.Now())
	return l.Addr().(*net.TCPAddr).Port
}
