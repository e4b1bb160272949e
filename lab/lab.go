package lab

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/godwit-bgp/godwit/config"
)

// DefaultConfig is the lab's cluster configuration (cluster.yaml): the
// file every node's godwitd reads, and from which the lab builds its
// namespaces and its router.
//
//go:embed cluster.yaml
var DefaultConfig []byte

// Defaults of Options.
const (
	DefaultPrefix   = "gwlab"
	DefaultStateDir = "/run/godwit-lab"
)

// Options say which lab to work on and with what.
type Options struct {
	// Prefix starts the name of every namespace the lab makes
	// (PREFIX-tor, PREFIX-node1, PREFIX-node1-pod1, ...); `lab down`
	// finds them by it. Default DefaultPrefix. Two labs with different
	// prefixes and state directories are independent (the acceptance test
	// uses its own, so it never touches a person's lab).
	Prefix string
	// StateDir holds the lab's files: the configuration the nodes run,
	// the allocation file, the record of the processes, logs, sockets and
	// the router's directory. Default DefaultStateDir. It must be
	// reachable by the frr user (FRR drops privileges), so not under a
	// 0700 temporary directory.
	StateDir string
	// Config is the cluster configuration; default DefaultConfig.
	Config []byte
	// Godwitd is the godwitd binary the nodes run (see FindGodwitd).
	Godwitd string
	// Godwit is the godwit CLI whose `status` output Up prints for each
	// node; default "godwit" on PATH (without one, Up prints the session
	// states it read itself).
	Godwit string
	// Out receives the text for people: progress lines as the lab comes
	// up, the nodes' status, the router's table, the pings. Nil discards
	// it.
	Out io.Writer
	// Install lets Up install FRR and ping with apt-get when they are
	// missing.
	Install bool
	// SessionTimeout bounds the wait for the BGP sessions and for the
	// routes; default 90 s.
	SessionTimeout time.Duration
}

// Lab is one lab, identified by its prefix and state directory. Its
// methods may be called from another process than the one that built the
// lab (they find everything by name and in the state directory).
type Lab struct {
	o Options
}

// New returns a handle on the lab that o describes.
func New(o Options) *Lab {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir
	}
	if o.Config == nil {
		o.Config = DefaultConfig
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.SessionTimeout == 0 {
		o.SessionTimeout = 90 * time.Second
	}
	return &Lab{o: o}
}

// nsName is the namespace of a lab member ("tor", "node1", "node1-pod1").
func (o *Options) nsName(member string) string { return o.Prefix + "-" + member }

// path is a file in the state directory.
func (o *Options) path(elem ...string) string {
	return filepath.Join(append([]string{o.StateDir}, elem...)...)
}

// Files in the state directory.
const (
	stateFile   = "lab.json"     // the record of what Up made (state.go)
	configFile  = "cluster.yaml" // the configuration every godwitd reads
	clusterFile = "cluster-state.json"
	routerDir   = "tor" // FRR's directory
)

// lockPath is the file whose flock serialises Up and Down; it lives beside
// the state directory, which Down removes.
func (o *Options) lockPath() string { return strings.TrimRight(o.StateDir, "/") + ".lock" }

// resources parses the cluster configuration.
func (o *Options) resources() ([]*config.Resource, error) {
	rs, err := config.Parse("lab cluster configuration", o.Config)
	if err != nil {
		return nil, err
	}
	return rs, nil
}

// needRoot is the error of every command when not run as root.
func needRoot() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("the lab needs root (it creates network namespaces): run it with sudo")
	}
	return nil
}

// elapsed formats a duration as seconds with one decimal, for progress
// lines.
func elapsed(d time.Duration) string { return fmt.Sprintf("%5.1fs", d.Seconds()) }
