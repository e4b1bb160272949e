//go:build !amd64 && !arm64

package netns

// sysSetns is unknown on this architecture: Do fails with ENOSYS. Add a
// setns_GOARCH.go with the number from the kernel's syscall table.
const sysSetns = -1
