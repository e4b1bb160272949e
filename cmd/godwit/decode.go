package main

// Temporary stand-in so that the command builds: the real decode.go (the
// lead's) replaces this whole file.

import (
	"errors"

	"github.com/spf13/cobra"
)

func newDecodeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "decode [HEX]",
		Short: "Decode one BGP message",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("decode is not in this build yet")
		},
	}
}
