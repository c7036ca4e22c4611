package main

import (
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/testtool/testmain"
)

func TestMain(m *testing.M) { testmain.RunNoLeakCheck(m) }
