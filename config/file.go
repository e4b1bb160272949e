package config

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// ConditionConfigLoaded is the condition FileSource keeps on the
// BGPConfiguration: True after a good load, False with the errors after a
// bad one.
const ConditionConfigLoaded = "ConfigLoaded"

// Reasons of ConditionConfigLoaded.
const (
	ReasonLoaded      = "Loaded"
	ReasonInvalidFile = "InvalidFile"
	ReasonApplyFailed = "ApplyFailed"
)

// maxStatusMessage bounds the error text copied into a status.
const maxStatusMessage = 4096

// FileSource is the file backend: it loads one configuration file into a
// store under one owner (OwnerFile unless WithOwner says otherwise), on
// demand (Load, for a start or a SIGHUP) or when the file changes (Run).
//
// A file that does not parse or validate changes nothing in the store: the
// running configuration stays the last good one. The error is kept in
// Status and in the ConfigLoaded condition of the BGPConfiguration, when
// the store has one.
//
// Its methods may be called from several goroutines; loads are serialised
// by mu, which also guards the fields below it.
type FileSource struct {
	store Store
	path  string
	owner string
	now   func() time.Time

	mu       sync.Mutex
	status   FileStatus
	seen     fileStamp // what the last load or poll saw
	seenHash string    // hash of the content seen last, loaded or not
}

// FileStatus is the state of a FileSource.
type FileStatus struct {
	Path string
	// LoadedAt is when the last good file was applied; Hash is its SHA-256
	// and Result what applying it changed.
	LoadedAt time.Time
	Hash     string
	Result   ApplyResult
	// LastError is the error of the latest load, nil when it was good.
	LastError   error
	LastErrorAt time.Time
}

type fileStamp struct {
	modTime time.Time
	size    int64
}

func (a fileStamp) same(b fileStamp) bool { return a.modTime.Equal(b.modTime) && a.size == b.size }

// FileOption configures NewFileSource.
type FileOption func(*FileSource)

// WithOwner sets the owner of the file's resources, such as
// "file:/etc/godwit/extra.yaml" when several files feed one store.
func WithOwner(owner string) FileOption { return func(f *FileSource) { f.owner = owner } }

// WithClock sets the clock used for status times (tests).
func WithClock(now func() time.Time) FileOption { return func(f *FileSource) { f.now = now } }

// NewFileSource returns a source for the file at path; it reads nothing
// until Load or Run.
func NewFileSource(s Store, path string, opts ...FileOption) *FileSource {
	f := &FileSource{store: s, path: path, owner: OwnerFile, now: time.Now}
	for _, o := range opts {
		o(f)
	}
	f.status.Path = path
	return f
}

// Status returns the source's state.
func (f *FileSource) Status() FileStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

// Load reads the file and applies it (see Apply), even when it has not
// changed (which then writes nothing). On error the store keeps the last
// good configuration, apart from what a failing Apply had already written
// (Apply fails only on a conflict with a concurrent writer, and is retried
// a few times first).
func (f *FileSource) Load(ctx context.Context) (ApplyResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loadLocked(ctx)
}

func (f *FileSource) loadLocked(ctx context.Context) (ApplyResult, error) {
	data, stamp, err := f.read()
	if err != nil {
		f.failLocked(ctx, ReasonInvalidFile, err)
		return ApplyResult{}, err
	}
	return f.applyLocked(ctx, data, stamp)
}

// applyLocked parses and applies the file's content.
func (f *FileSource) applyLocked(ctx context.Context, data []byte, stamp fileStamp) (ApplyResult, error) {
	hash := hashOf(data)
	f.seen, f.seenHash = stamp, hash
	rs, err := Parse(f.path, data)
	if err != nil {
		f.failLocked(ctx, ReasonInvalidFile, err)
		return ApplyResult{}, err
	}
	var res ApplyResult
	for attempt := 0; ; attempt++ {
		var r ApplyResult
		r, err = Apply(ctx, f.store, rs, f.owner)
		res.Added = append(res.Added, r.Added...)
		res.Modified = append(res.Modified, r.Modified...)
		res.Deleted = append(res.Deleted, r.Deleted...)
		res.Unchanged = r.Unchanged
		if err == nil || !errors.Is(err, ErrConflict) || attempt == 2 {
			break
		}
	}
	if err != nil {
		// Not the file's fault (a conflict with another owner or writer):
		// let the next poll try the same content again.
		f.seenHash = ""
		f.failLocked(ctx, ReasonApplyFailed, err)
		return res, err
	}
	now := f.now()
	f.status.LoadedAt, f.status.Hash, f.status.Result = now, hash, res
	f.status.LastError, f.status.LastErrorAt = nil, time.Time{}
	f.setCondition(ctx, Condition{Type: ConditionConfigLoaded, Status: ConditionTrue, Reason: ReasonLoaded,
		Message: fmt.Sprintf("%s: %s", f.path, res)}, "")
	return res, nil
}

// read returns the file's content and its stamp.
func (f *FileSource) read() ([]byte, fileStamp, error) {
	file, err := os.Open(f.path)
	if err != nil {
		return nil, fileStamp{}, err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return nil, fileStamp{}, err
	}
	if st.Size() > MaxFileSize {
		return nil, fileStamp{}, &Error{File: f.path, Reason: fmt.Sprintf("larger than %d bytes", MaxFileSize)}
	}
	data, err := io.ReadAll(io.LimitReader(file, MaxFileSize+1))
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("%s: %w", f.path, err)
	}
	return data, fileStamp{st.ModTime(), st.Size()}, nil
}

// failLocked records a failed load.
func (f *FileSource) failLocked(ctx context.Context, reason string, err error) {
	f.status.LastError, f.status.LastErrorAt = err, f.now()
	msg := err.Error()
	if len(msg) > maxStatusMessage {
		msg = msg[:maxStatusMessage] + "..."
	}
	f.setCondition(ctx, Condition{Type: ConditionConfigLoaded, Status: ConditionFalse, Reason: reason,
		Message: "kept the last good configuration: " + msg}, msg)
}

// setCondition records c (and lastError) on the BGPConfiguration, if the
// store has one. Other parts of its status are kept. Failing to write a
// status is not worth failing the load for: Status has it all too.
func (f *FileSource) setCondition(ctx context.Context, c Condition, lastError string) {
	cur, err := f.store.Get(ctx, KindBGPConfiguration, "default")
	if err != nil {
		return
	}
	var st Status
	if cur.Status != nil {
		st = *deepCopy(cur.Status)
	}
	st.SetCondition(c, f.now())
	st.LastError = lastError
	_, _ = f.store.SetStatus(ctx, KindBGPConfiguration, "default", st)
}

// Run polls the file every interval until ctx ends, and loads it when its
// modification time or size changed and its content (by SHA-256) differs
// from what was seen last. A content that failed to load is not retried
// until it changes again. Run returns ctx's error; errors of loads are in
// Status (and the ConfigLoaded condition). It starts no goroutine.
func (f *FileSource) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			f.Poll(ctx)
		}
	}
}

// Poll checks the file once, as Run does at every tick, and reports
// whether it tried to load it (Status says how that went).
func (f *FileSource) Poll(ctx context.Context) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := os.Stat(f.path)
	if err != nil {
		if f.seenHash != "" || f.status.LastError == nil {
			// Report a vanished file once; keep the configuration.
			f.seen, f.seenHash = fileStamp{}, ""
			f.failLocked(ctx, ReasonInvalidFile, err)
		}
		return false
	}
	if f.seenHash != "" && f.seen.same(fileStamp{st.ModTime(), st.Size()}) {
		return false
	}
	data, stamp, err := f.read()
	if err != nil {
		f.failLocked(ctx, ReasonInvalidFile, err)
		return false
	}
	if hashOf(data) == f.seenHash {
		f.seen = stamp // touched, not changed
		return false
	}
	_, _ = f.applyLocked(ctx, data, stamp)
	return true
}

func hashOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
