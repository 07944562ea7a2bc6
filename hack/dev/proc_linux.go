package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// childProcAttr puts a child in its own process group, so that Ctrl-C
// reaches it only through us and in order, and kills it if we die without
// stopping it.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// lock takes dir for this session, or says who has it: two sessions on other
// addresses would otherwise share the kubeconfig and the logs.
func lock(dir string) (func(), error) {
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := io.ReadAll(f)
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another `make dev` (pid %s) is running in this checkout (it owns %s): one runs per checkout; stop it first (Ctrl-C in its terminal)", strings.TrimSpace(string(b)), relative(dir))
		}
		return nil, err
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() { _ = f.Close() }, nil
}

// children lists our live child processes.
func children() []int {
	self := os.Getpid()
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) < 2 || fields[0] == "Z" {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == self {
			pids = append(pids, pid)
		}
	}
	return pids
}

func command(pid int) string {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	name, _, _ := bytes.Cut(b, []byte{0})
	return string(name)
}

// recordChildren notes our children (etcd, kube-apiserver, the manager) in
// dir/pids, so that a session that was killed outright (SIGKILL: nothing
// could stop them) has them stopped by the next one.
func recordChildren(dir string) {
	var b strings.Builder
	for _, pid := range children() {
		fmt.Fprintf(&b, "%d %s\n", pid, command(pid))
	}
	_ = os.WriteFile(filepath.Join(dir, "pids"), []byte(b.String()), 0o644)
}

// reapLeftovers stops the processes a killed session recorded, if they still
// run. It is called with dir locked, so their session is gone.
func reapLeftovers(dir string, out io.Writer) {
	path := filepath.Join(dir, "pids")
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		pidText, cmd, ok := strings.Cut(line, " ")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || cmd == "" || command(pid) != cmd {
			continue
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		fmt.Fprintf(out, "stopped %s (pid %d), left running by an earlier `make dev` that was killed\n", filepath.Base(cmd), pid)
	}
	_ = os.Remove(path)
}

// killChildren kills whatever we started that still runs, with its process
// group.
func killChildren() {
	for _, pid := range children() {
		fmt.Fprintf(os.Stderr, "killing %s (pid %d)\n", filepath.Base(command(pid)), pid)
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
