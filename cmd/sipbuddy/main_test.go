package main

import (
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
)

func TestMain(m *testing.M) { testtool.MainNoLeakCheck(m) }
