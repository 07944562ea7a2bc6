//go:build !linux

package main

import (
	"io"
	"syscall"
)

// childProcAttr puts a child in its own process group, so that Ctrl-C
// reaches it only through us and in order.
func childProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// lock does not guard dir off Linux.
func lock(string) (func(), error) { return func() {}, nil }

// Child processes are not tracked off Linux.
func recordChildren(string)           {}
func reapLeftovers(string, io.Writer) {}
func killChildren()                   {}
