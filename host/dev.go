package host

import (
	"context"

	"go.uber.org/zap"
)

// DevServer is a Temporal server that dev mode runs inside the process.
type DevServer interface {
	// FrontendAddress is the host:port that clients and workers dial.
	FrontendAddress() string
	// UIAddress is the Web UI's URL, or "" when it runs without one.
	UIAddress() string
	// Stop shuts the server down; it may be called more than once.
	Stop() error
}

// DevServerOptions are what dev mode asks of its server.
type DevServerOptions struct {
	// DataDir holds the server's database, so runs survive a restart.
	DataDir string
	// Port is the frontend's port, UIPort the Web UI's (NoUI for none).
	Port, UIPort int
	// Namespace is created, with statedriven's search attributes.
	Namespace string
	// Logger receives the server's own logs.
	Logger *zap.Logger
}

// DevServerFunc starts the server of dev mode and returns once it serves.
// host/devserver.ForHost is the one that runs a real Temporal server; it
// lives in its own package so that programs and tests that never use dev
// mode do not build the server.
type DevServerFunc func(ctx context.Context, opts DevServerOptions) (DevServer, error)
