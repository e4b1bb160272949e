package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/godwit-bgp/godwit/api/wirejson"
	"github.com/godwit-bgp/godwit/wire"
	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
	"github.com/godwit-bgp/godwit/wire/nlri"
	"github.com/spf13/cobra"
)

// maxDecodeInput bounds what decode reads from stdin: one message is at
// most 65535 octets, so twice that in hex with generous white space.
const maxDecodeInput = 1 << 20

func newDecodeCmd() *cobra.Command {
	var as2 bool
	var addPath []string
	cmd := &cobra.Command{
		Use:   "decode [HEX|-]",
		Short: "Decode one BGP message (hex) into JSON, or text with -o text",
		Long: `decode reads one whole BGP message, marker included, as hex from the
arguments (joined) or from standard input ("-" or no argument). White space and a
leading 0x are ignored.

It accepts whatever a session could have negotiated: 4-octet AS numbers,
extended next hops, extended messages. Only what is ambiguous without the
session takes a flag: --as2 for 2-octet AS paths, --addpath FAMILY for
path identifiers (repeat it, or give a comma-separated list).

Malformed input exits non-zero with one line on stderr naming the problem,
the RFC 7606 outcome and the NOTIFICATION code/subcode. When the outcome
still lets a session use the message (attribute discard, treat-as-withdraw,
AFI/SAFI disable), the decoded message with its faults is printed too.`,
		Example: `  godwit decode ffffffffffffffffffffffffffffffff001304
  godwit decode -o text < update.hex
  godwit decode --addpath ipv4-unicast ffff...`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			format := outputFormat(cmd, "json")
			var src string
			if len(args) > 0 && !(len(args) == 1 && args[0] == "-") {
				// Hex split over several arguments is one message.
				src = strings.Join(args, "")
			} else {
				b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxDecodeInput+1))
				if err != nil {
					return fmt.Errorf("decode: reading standard input: %w", err)
				}
				if len(b) > maxDecodeInput {
					return fmt.Errorf("decode: standard input is larger than %d octets; one BGP message is at most 65535 octets", maxDecodeInput)
				}
				src = string(b)
			}
			msg, err := parseHex(src)
			if err != nil {
				return usageError{fmt.Errorf("decode: %w", err)}
			}
			opt := wire.Permissive()
			opt.AS4 = !as2
			var fams []nlri.Family
			for _, list := range addPath {
				for _, s := range strings.Split(list, ",") {
					f, err := nlri.ParseFamily(strings.TrimSpace(s))
					if err != nil {
						return usagef("decode --addpath: %v", err)
					}
					fams = append(fams, f)
				}
			}
			opt.AddPath = nlri.NewAddPath(fams...)
			return decodeAndPrint(cmd.OutOrStdout(), msg, opt, format)
		},
	}
	cmd.Flags().BoolVar(&as2, "as2", false, "AS numbers in AS_PATH and AGGREGATOR are 2 octets (a session without the 4-octet AS capability)")
	cmd.Flags().StringArrayVar(&addPath, "addpath", nil, "NLRI of this family carry ADD-PATH path identifiers (e.g. ipv4-unicast); repeatable")
	return cmd
}

// parseHex reads hex with white space, a leading 0x, and ':' or '-'
// separators allowed.
func parseHex(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', ':', '-':
			return -1
		}
		return r
	}, s)
	if clean == "" {
		return nil, errors.New("no input: give one BGP message as hex, as an argument or on standard input")
	}
	b, err := hex.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("input is not hex: %v", err)
	}
	return b, nil
}

func decodeAndPrint(w io.Writer, msg []byte, opt wire.Options, format string) error {
	m, err := safeDecode(msg, opt)
	f := fault.As(err)
	if err != nil && f == nil {
		return fmt.Errorf("decode: %v", err)
	}
	var faults []*fault.Error
	if u, ok := m.(*wire.Update); ok {
		faults = u.Faults
	} else if f != nil {
		faults = []*fault.Error{f}
	}
	if m != nil {
		out := wirejson.FromMessage(m, len(msg), opt, faults)
		if format == "json" {
			if err := writeJSON(w, out); err != nil {
				return err
			}
		} else {
			fmt.Fprint(w, wirejson.Text(out))
		}
	}
	if f != nil {
		return fmt.Errorf("decode: malformed %s: %s; RFC 7606 outcome %s; NOTIFICATION %d/%d (%s / %s)",
			msgTypeName(msg), f.Reason, f.Action, uint8(f.Code), f.Subcode, f.Code, iana.SubcodeString(f.Code, f.Subcode))
	}
	return nil
}

// safeDecode decodes and turns a decoder panic (a bug) into an error, so
// that the tool never crashes on input; the fuzzers exist to find those.
func safeDecode(msg []byte, opt wire.Options) (m wire.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("internal error decoding the message (please report it with the input): %v", r)
		}
	}()
	return wire.Decode(msg, opt)
}

func msgTypeName(msg []byte) string {
	if len(msg) >= wire.HeaderLen && iana.MsgType(msg[18]).Known() {
		return iana.MsgType(msg[18]).String()
	}
	return "message"
}
