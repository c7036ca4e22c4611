//go:build unix

package server

import "syscall"

// mapReadBuffers returns n bytes of receive buffers outside the Go heap: a
// recvmmsg batch's buffers are large (udpBatch × udpReadSize) and mostly
// never touched, and on the heap they would raise the collector's target
// (and so the process's resident memory) by their whole size. free
// releases them.
func mapReadBuffers(n int) (buf []byte, free func()) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n), func() {}
	}
	return b, func() { _ = syscall.Munmap(b) }
}
