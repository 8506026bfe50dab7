package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/statedriven/statedriven/starter/internal/testserver"
)

// Each cause below is real: a port where nothing listens, a TLS server
// met without TLS, a plain server met with TLS, a certificate nobody
// signed, a listener that never answers, a namespace the in-process
// server does not have, API keys a server with an authorizer refuses. What the user reads is checked as a whole, so a
// change of wording is a change of this file.

func TestCauseConnectionRefused(t *testing.T) {
	t.Parallel()
	addr := closedPort(t)
	_, err := Dial(context.Background(), Config{Address: addr, Env: noFile(t, env{})})
	require.ErrorIs(t, err, ErrUnreachable)
	require.Equal(t, "cannot reach Temporal at "+addr+": nothing listens there (connection refused); start a dev server with make run, "+
		"or set TEMPORAL_ADDRESS (or --address) to your server's host:port", err.Error())
}

func TestCauseTLSClientPlainServer(t *testing.T) {
	t.Parallel()
	addr := testserver.Address(t)
	_, err := Dial(context.Background(), Config{Address: addr, Env: noFile(t, env{"TEMPORAL_TLS": "true"})})
	require.ErrorIs(t, err, ErrTLS)
	require.Equal(t, "TLS handshake with "+addr+" failed: the server there does not speak TLS, but this client does "+
		"(TEMPORAL_TLS, a TEMPORAL_TLS_* setting or TEMPORAL_API_KEY turned it on); for a dev server set TEMPORAL_TLS=false, "+
		"otherwise check TEMPORAL_ADDRESS", err.Error())
}

func TestCausePlainClientTLSServer(t *testing.T) {
	t.Parallel()
	addr := tlsServer(t)
	_, err := Dial(context.Background(), Config{Address: addr, Env: noFile(t, env{})})
	require.ErrorIs(t, err, ErrTLS)
	require.Equal(t, addr+" closed the connection without answering: it probably expects TLS, and this client does not speak it; "+
		"set TEMPORAL_TLS=true (with TEMPORAL_API_KEY or TEMPORAL_TLS_CLIENT_CERT_PATH and _KEY_PATH, as your server wants)", err.Error())
}

func TestCauseUntrustedCertificate(t *testing.T) {
	t.Parallel()
	addr := tlsServer(t)
	_, err := Dial(context.Background(), Config{Address: addr, Env: noFile(t, env{"TEMPORAL_TLS": "true"})})
	require.ErrorIs(t, err, ErrTLS)
	require.Regexp(t, `^TLS handshake with `+addr+` failed: the server's certificate is not trusted \(tls: failed to verify certificate: x509: .+\); `+
		`set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it, or TEMPORAL_TLS_SERVER_NAME when it names another host$`, err.Error())
}

func TestCauseDeadline(t *testing.T) {
	t.Parallel()
	addr := silentListener(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := Dial(ctx, Config{Address: addr, Env: noFile(t, env{})})
	require.ErrorIs(t, err, ErrTimeout)
	require.Equal(t, "Temporal at "+addr+" did not answer in time: something may listen there that is not Temporal (check TEMPORAL_ADDRESS), "+
		"or the server is overloaded (temporal operator cluster health); try again", err.Error())
}

func TestCauseNamespaceNotFound(t *testing.T) {
	t.Parallel()
	addr := testserver.Address(t)
	c, err := Dial(context.Background(), Config{Address: addr, Namespace: "no-such-namespace", Env: noFile(t, env{})})
	require.NoError(t, err, "the namespace is not checked at dial")
	defer c.Close()
	_, err = c.Describe(context.Background(), "order-42")
	require.ErrorIs(t, err, ErrNamespace)
	require.Equal(t, "namespace no-such-namespace does not exist at "+addr+": give the right one with --namespace or TEMPORAL_NAMESPACE "+
		"(temporal operator namespace list shows them), or create it with temporal operator namespace create --namespace no-such-namespace", err.Error())
}

// closedPort returns a local address where nothing listens: the port of a
// listener just closed.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// silentListener accepts connections and never says a word.
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = conn.Close() })
		}
	}()
	return l.Addr().String()
}

// tlsServer runs a gRPC server that speaks only TLS, with a self-signed
// certificate no client trusts.
func tlsServer(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return l.Addr().String()
}

// A server that checks API keys, as a self-hosted one with an authorizer
// does: a key it does not know and a key without rights in the namespace
// are both refused with PermissionDenied. It is an in-process server of
// its own, since the authorizer applies to every caller.
func TestCauseCredentials(t *testing.T) {
	t.Parallel()
	ts := temporaltest.NewServer(temporaltest.WithT(t), temporaltest.WithBaseServerOptions(
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return keyMapper{} }),
		temporal.WithAuthorizer(keyAuthorizer{}),
	))
	addr, ns := ts.GetFrontendHostPort(), ts.GetDefaultNamespace()
	for _, tc := range []struct {
		key  string
		want string
	}{
		{"not-a-key", "Temporal at " + addr + " refused the request (Request unauthorized.): the API key in TEMPORAL_API_KEY is not valid there, " +
			"or grants no access to namespace " + ns + "; check the key and its rights"},
		{"reader-elsewhere", "Temporal at " + addr + " refused the request (Request unauthorized.): the API key in TEMPORAL_API_KEY is not valid there, " +
			"or grants no access to namespace " + ns + "; check the key and its rights"},
	} {
		e := noFile(t, env{"TEMPORAL_API_KEY": tc.key, "TEMPORAL_TLS": "false"})
		c, err := Dial(context.Background(), Config{Address: addr, Namespace: ns, Env: e})
		if err == nil {
			_, err = c.Describe(context.Background(), "order-42")
			c.Close()
		}
		require.ErrorIs(t, err, ErrDenied, tc.key)
		require.Equal(t, tc.want, err.Error(), tc.key)
	}
	c, err := Dial(context.Background(), Config{Address: addr, Namespace: ns, Env: noFile(t, env{"TEMPORAL_API_KEY": "admin", "TEMPORAL_TLS": "false"})})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Describe(context.Background(), "order-42")
	require.ErrorIs(t, err, ErrNotFound, "a good key gets through")
}

// keyMapper knows two API keys: "admin" and "reader-elsewhere" (a reader
// of another namespace).
type keyMapper struct{}

func (keyMapper) GetClaims(info *authorization.AuthInfo) (*authorization.Claims, error) {
	switch info.AuthToken {
	case "Bearer admin":
		return &authorization.Claims{Subject: "admin", System: authorization.RoleAdmin}, nil
	case "Bearer reader-elsewhere":
		return &authorization.Claims{Subject: "reader", Namespaces: map[string]authorization.Role{"elsewhere": authorization.RoleReader}}, nil
	}
	return nil, errors.New("unknown API key")
}

// keyAuthorizer lets through the server's own calls (no claims) and
// admins.
type keyAuthorizer struct{}

func (keyAuthorizer) Authorize(_ context.Context, claims *authorization.Claims, _ *authorization.CallTarget) (authorization.Result, error) {
	if claims == nil || claims.System == authorization.RoleAdmin {
		return authorization.Result{Decision: authorization.DecisionAllow}, nil
	}
	return authorization.Result{Decision: authorization.DecisionDeny}, nil
}
