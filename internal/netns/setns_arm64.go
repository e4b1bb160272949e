package netns

// sysSetns is setns(2) on linux/arm64 (the generic syscall table); package
// syscall does not name it.
const sysSetns = 268
