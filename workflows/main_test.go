package workflows_test

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// The scale benchmark runs its dev server in a process of its own,
	// this test binary started again: see devServerProcess.
	if dir := os.Getenv(devServerEnv); dir != "" {
		os.Exit(serveDevServer(dir))
	}
	os.Exit(m.Run())
}
