package netns

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"syscall"
)

// Do runs fn with the calling code's network namespace switched to n, and
// returns fn's error.
//
// A namespace belongs to an OS thread, not to a goroutine, so Do runs fn on a
// fresh goroutine locked to its thread, switches that thread with setns(2),
// and switches it back afterwards. Consequences for fn:
//
//   - goroutines that fn starts do NOT run in the namespace (they may run
//     on any thread); do the namespace-sensitive call (socket creation, a
//     netlink socket, a /proc/sys/net file) in fn itself;
//   - a socket keeps the namespace it was created in for its whole life, so
//     a listener or connection made in fn can be used anywhere afterwards
//     (that is how ListenTCP and DialTCP work);
//   - fn must not call t.Fatal or t.FailNow (they would end the wrong
//     goroutine); return an error instead. A panic in fn is re-raised in
//     the caller after the thread is switched back.
//
// If the thread cannot be switched back it is left locked, so that the
// runtime discards it when the goroutine ends instead of reusing it.
func (n *NS) Do(fn func() error) error {
	target, err := os.Open(n.Path())
	if err != nil {
		return fmt.Errorf("namespace %s: %w", n.name, err)
	}
	defer target.Close()

	type result struct {
		err      error
		panicked bool
		value    any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("open own namespace: %w", err)}
			return
		}
		defer orig.Close()
		if err := setns(int(target.Fd())); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("setns %s: %w", n.name, err)}
			return
		}
		var r result
		func() {
			defer func() {
				if v := recover(); v != nil {
					r = result{panicked: true, value: v}
				}
			}()
			r.err = fn()
		}()
		if err := setns(int(orig.Fd())); err != nil {
			// Stay locked: the thread dies with this goroutine.
			if r.err == nil && !r.panicked {
				r.err = fmt.Errorf("setns back from %s: %w", n.name, err)
			}
			done <- r
			return
		}
		runtime.UnlockOSThread()
		done <- r
	}()
	r := <-done
	if r.panicked {
		panic(r.value)
	}
	return r.err
}

func setns(fd int) error {
	if sysSetns < 0 {
		return syscall.ENOSYS
	}
	_, _, errno := syscall.RawSyscall(uintptr(sysSetns), uintptr(fd), syscall.CLONE_NEWNET, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// Listen creates a listener inside the namespace (lc may be nil; set its
// Control to add socket options such as TCP MD5). The listener stays in the
// namespace and may be used from any goroutine.
func (n *NS) Listen(ctx context.Context, lc *net.ListenConfig, network, addr string) (net.Listener, error) {
	if lc == nil {
		lc = &net.ListenConfig{}
	}
	var l net.Listener
	err := n.Do(func() error {
		var err error
		l, err = lc.Listen(ctx, network, addr)
		return err
	})
	return l, err
}

// ListenTCP listens on a TCP address ("10.0.0.1:179", "[::]:0") inside the
// namespace.
func (n *NS) ListenTCP(addr string) (*net.TCPListener, error) {
	l, err := n.Listen(context.Background(), nil, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return l.(*net.TCPListener), nil
}

// Dial connects from inside the namespace (d may be nil; set LocalAddr,
// Timeout or Control on it as needed). The connection stays in the namespace
// and may be used from any goroutine.
func (n *NS) Dial(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
	if d == nil {
		d = &net.Dialer{}
	}
	var c net.Conn
	err := n.Do(func() error {
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// DialTCP connects to a TCP address from inside the namespace.
func (n *NS) DialTCP(ctx context.Context, addr string) (*net.TCPConn, error) {
	c, err := n.Dial(ctx, nil, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}
