package server

import (
	"net"
	"testing"
)

func TestListenSamePortForBothTransports(t *testing.T) {
	pc, l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	defer l.Close()
	if pc.LocalAddr().String() != l.Addr().String() {
		t.Fatalf("UDP %s and TCP %s differ", pc.LocalAddr(), l.Addr())
	}
	// A fixed port already taken on TCP is an error, not another port.
	if _, _, err := Listen(l.Addr().String()); err == nil {
		t.Fatal("Listen on a taken port succeeded")
	}
	if _, _, err := Listen("no-port"); err == nil {
		t.Fatal("Listen without a port succeeded")
	}
	var _ net.PacketConn = pc
}
