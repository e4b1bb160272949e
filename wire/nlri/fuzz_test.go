package nlri

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/godwit-bgp/godwit/wire/iana"
)

// writeSeeds rewrites the committed seed corpora from the golden vectors:
//
//	go test ./wire/nlri -run TestWriteFuzzSeeds -write-seeds
var writeSeeds = flag.Bool("write-seeds", false, "rewrite testdata/fuzz/{FuzzDecode,FuzzIter} seeds from testdata/*.txt")

// fuzzAFIs are the AFIs FuzzDecode picks from with its first byte; the SAFI
// is fuzzed whole, so every family Decode parses and many it does not are
// reached.
var fuzzAFIs = []iana.AFI{iana.AFIIPv4, iana.AFIIPv6, iana.AFIL2VPN, iana.AFIBGPLS}

func fuzzFamily(afiSel, safi byte) Family {
	return Family{fuzzAFIs[int(afiSel)%len(fuzzAFIs)], iana.SAFI(safi)}
}

// decodeSeed is FuzzDecode's argument list for one vector.
func decodeSeed(v vector) (afiSel, safi byte, addPath bool, data []byte) {
	for i, a := range fuzzAFIs {
		if a == v.fam.AFI {
			afiSel = byte(i)
		}
	}
	return afiSel, byte(v.fam.SAFI), v.addPath, v.data
}

func FuzzDecode(f *testing.F) {
	for _, v := range allVectors(f) {
		afiSel, safi, addPath, data := decodeSeed(v)
		f.Add(afiSel, safi, addPath, data)
	}
	f.Fuzz(func(t *testing.T, afiSel, safi byte, addPath bool, data []byte) {
		fam := fuzzFamily(afiSel, safi)
		in := bytes.Clone(data)
		var ns []NLRI
		var err error
		if len(data)%8 == 1 {
			// Bounded allocation: at most a fixed amount per input octet
			// (a one-octet /0 prefix costs its boxed Prefix and a slot).
			ns, err = measure(t, 128*len(data)+4096, func() ([]NLRI, error) { return Decode(fam, in, addPath) })
		} else {
			ns, err = Decode(fam, in, addPath)
		}
		for i := range in {
			in[i] ^= 0xff // results must not alias the input
		}
		if err != nil {
			checkDecodeFault(t, err)
			if ns != nil {
				t.Fatalf("%d entries returned with a fault", len(ns))
			}
			return
		}
		if len(ns) > len(data) {
			t.Fatalf("%d entries from %d octets", len(ns), len(data))
		}
		for i, n := range ns {
			if n.String() == "" {
				t.Fatalf("entry %d has an empty String", i)
			}
			if got, want := n.Family(), wantFamily(fam, n); got != want {
				t.Fatalf("entry %d (%s): Family %v, want %v", i, n, got, want)
			}
		}
		// Decoding keeps every octet, so the encoding is the input itself;
		// and a second round is stable.
		enc := Append(nil, ns, addPath)
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoded\n %x\nwant\n %x", enc, data)
		}
		ns2, err := Decode(fam, enc, addPath)
		if err != nil {
			t.Fatalf("re-decoding the encoding: %v", err)
		}
		if enc2 := Append(nil, ns2, addPath); !bytes.Equal(enc2, enc) {
			t.Fatalf("second encoding differs:\n %x\n %x", enc2, enc)
		}
		for i := range ns {
			if ns[i].String() != ns2[i].String() {
				t.Fatalf("entry %d: %q then %q", i, ns[i], ns2[i])
			}
		}
	})
}

// measure runs decode and fails if it allocated more than max bytes. The
// runtime's counters are process-wide, and the fuzzing engine's own
// goroutines allocate too; decoding is deterministic, so only a decode that
// exceeds the bound three times in a row fails.
func measure(t *testing.T, max int, decode func() ([]NLRI, error)) ([]NLRI, error) {
	var (
		ns   []NLRI
		err  error
		best uint64
	)
	for i := 0; i < 3; i++ {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ns, err = decode()
		runtime.ReadMemStats(&after)
		got := after.TotalAlloc - before.TotalAlloc
		if got <= uint64(max) {
			return ns, err
		}
		if i == 0 || got < best {
			best = got
		}
	}
	t.Fatalf("decoding allocated %d bytes, bound %d", best, max)
	return ns, err
}

// FuzzIter checks that the unicast iterator, Count and Decode agree on every
// input: the same prefixes, and a fault at the same place.
func FuzzIter(f *testing.F) {
	for _, v := range allVectors(f) {
		if v.fam.SAFI == iana.SAFIUnicast || v.fam.SAFI == iana.SAFIMulticast {
			f.Add(v.fam.AFI == iana.AFIIPv6, v.addPath, v.data)
		}
	}
	f.Fuzz(func(t *testing.T, v6, addPath bool, data []byte) {
		afi := iana.AFIIPv4
		if v6 {
			afi = iana.AFIIPv6
		}
		var walked []Prefix
		it := NewIter(data, afi, addPath)
		for it.Next() {
			walked = append(walked, it.Prefix())
		}
		n, cerr := Count(data, afi, addPath)
		ns, derr := Decode(Family{afi, iana.SAFIUnicast}, data, addPath)
		ierr := it.Err()
		if (ierr == nil) != (cerr == nil) || (ierr == nil) != (derr == nil) {
			t.Fatalf("disagree: Iter %v, Count %v, Decode %v", ierr, cerr, derr)
		}
		if n != len(walked) {
			t.Fatalf("Count %d, Iter %d prefixes", n, len(walked))
		}
		if ierr != nil {
			fi, fd := checkFault(t, ierr), checkDecodeFault(t, derr)
			checkFault(t, cerr)
			if fi.Subcode != fd.Subcode || fi.Action != fd.Action {
				t.Fatalf("Iter fault %v, Decode fault %v", fi, fd)
			}
			return
		}
		if len(ns) != len(walked) {
			t.Fatalf("Decode %d, Iter %d prefixes", len(ns), len(walked))
		}
		var enc []byte
		for i, p := range walked {
			if ns[i] != NLRI(p) {
				t.Fatalf("prefix %d: Decode %v, Iter %v", i, ns[i], p)
			}
			enc = AppendPrefix(enc, p.Prefix, p.PathID, addPath)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoded\n %x\nwant\n %x", enc, data)
		}
	})
}

// TestWriteFuzzSeeds writes every golden vector as a seed file of both
// targets (only with -write-seeds), so that `go test` replays them as
// committed corpus entries even without the f.Add calls.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -write-seeds to rewrite the seed corpora")
	}
	for _, target := range []string{"FuzzDecode", "FuzzIter"} {
		old, _ := filepath.Glob(filepath.Join("testdata", "fuzz", target, "vector-*"))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, v := range allVectors(t) {
		name := fmt.Sprintf("vector-%s", seedName(v.pos))
		afiSel, safi, addPath, data := decodeSeed(v)
		writeSeed(t, "FuzzDecode", name, fmt.Sprintf("byte(%q)\nbyte(%q)\nbool(%v)\n[]byte(%q)\n", afiSel, safi, addPath, data))
		if v.fam.SAFI == iana.SAFIUnicast || v.fam.SAFI == iana.SAFIMulticast {
			writeSeed(t, "FuzzIter", name, fmt.Sprintf("bool(%v)\nbool(%v)\n[]byte(%q)\n", v.fam.AFI == iana.AFIIPv6, v.addPath, data))
		}
	}
}

func seedName(pos string) string {
	b := []byte(pos)
	for i, c := range b {
		if c == ':' || c == '.' {
			b[i] = '-'
		}
	}
	return string(b)
}

func writeSeed(t *testing.T, target, name, body string) {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
}
