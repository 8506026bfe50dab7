package devserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/host"
	"github.com/statedriven/statedriven/projection"
	"github.com/statedriven/statedriven/projection/redistest"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

// pki is a certificate authority with a server certificate for
// 127.0.0.1 and a client certificate, as PEM files in a folder.
type pki struct {
	dir                       string
	ca, serverCert, serverKey string
	clientCert, clientKey     string
	caPool                    *x509.CertPool
	server                    tls.Certificate
	clientKeyPEM              string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir(), caPool: x509.NewCertPool()}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "statedriven test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	p.caPool.AddCert(caCert)
	p.ca = p.write(t, "ca.pem", "CERTIFICATE", caDER)

	issue := func(name string, serial int64, usage x509.ExtKeyUsage, ips []net.IP) (certFile, keyFile string, pair tls.Certificate, keyPEM string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		require.NoError(t, err)
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		require.NoError(t, err)
		certFile = p.write(t, name+".pem", "CERTIFICATE", der)
		keyFile = p.write(t, name+"-key.pem", "PRIVATE KEY", keyDER)
		pair, err = tls.LoadX509KeyPair(certFile, keyFile)
		require.NoError(t, err)
		b, err := os.ReadFile(keyFile)
		require.NoError(t, err)
		return certFile, keyFile, pair, string(b)
	}
	p.serverCert, p.serverKey, p.server, _ = issue("server", 2, x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)})
	p.clientCert, p.clientKey, _, p.clientKeyPEM = issue("worker", 3, x509.ExtKeyUsageClientAuth, nil)
	return p
}

func (p *pki) write(t *testing.T, name, kind string, der []byte) string {
	t.Helper()
	file := filepath.Join(p.dir, name)
	require.NoError(t, os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600))
	return file
}

// mtlsProxy terminates mutual TLS in front of a plain gRPC server, as a
// load balancer in front of Temporal does; it counts the connections
// whose client certificate it verified.
func mtlsProxy(t *testing.T, p *pki, target string) (addr string, verified *atomic.Int32) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{p.server},
		ClientCAs:    p.caPool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		NextProtos:   []string{"h2"},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	verified = &atomic.Int32{}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				tc := conn.(*tls.Conn)
				if err := tc.Handshake(); err != nil {
					return
				}
				if len(tc.ConnectionState().VerifiedChains) > 0 {
					verified.Add(1)
				}
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, conn); _ = up.(*net.TCPConn).CloseWrite() }()
				_, _ = io.Copy(conn, up)
			}()
		}
	}()
	return ln.Addr().String(), verified
}

// A worker configured as for Temporal Cloud and a managed Redis, from
// the environment only: Temporal over mutual TLS with an API key (from a
// file), Redis over TLS with a client certificate, as an ACL user whose
// password is in a file. The run completes and mirrors into Redis, and
// not one secret shows in the worker's debug logs.
func TestSecretsStayOutOfTheLogs(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	s := startServer(t, "")
	temporalAddr, verified := mtlsProxy(t, p, s.FrontendAddress())

	const apiKey = "tmprl-api-key-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	const redisPassword = "redis-acl-password-5d41402abc4b2a76b9719d911017c592"
	tlsPort := redistest.FreePort(t)
	rdb := redistest.StartWith(t,
		"--tls-port", strconv.Itoa(tlsPort),
		"--tls-cert-file", p.serverCert, "--tls-key-file", p.serverKey,
		"--tls-ca-cert-file", p.ca, "--tls-auth-clients", "yes",
		// The default user may only PING (the test's readiness check on
		// the plain port); the worker must log in as its ACL user.
		"--user", "default", "on", "nopass", "-@all", "+ping",
		"--user", "statedriven", "on", ">"+redisPassword, "~*", "&*", "+@all",
	)
	_ = rdb

	secrets := t.TempDir()
	keyFile := filepath.Join(secrets, "temporal-api-key")
	require.NoError(t, os.WriteFile(keyFile, []byte(apiKey+"\n"), 0o600))
	passwordFile := filepath.Join(secrets, "redis-password")
	require.NoError(t, os.WriteFile(passwordFile, []byte(redisPassword+"\n"), 0o600))

	redisURL := "rediss://statedriven@127.0.0.1:" + strconv.Itoa(tlsPort) + "/0"
	environ := []string{
		"TEMPORAL_CONFIG_FILE=" + filepath.Join(secrets, "none.toml"),
		"TEMPORAL_ADDRESS=" + temporalAddr,
		"TEMPORAL_NAMESPACE=" + s.Namespace(),
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH=" + p.ca,
		"TEMPORAL_TLS_CLIENT_CERT_PATH=" + p.clientCert,
		"TEMPORAL_TLS_CLIENT_KEY_PATH=" + p.clientKey,
		host.EnvTemporalAPIKeyFile + "=" + keyFile,
		projection.EnvURL + "=" + redisURL,
		projection.EnvPasswordFile + "=" + passwordFile,
		projection.EnvTLSCAFile + "=" + p.ca,
		projection.EnvTLSCertFile + "=" + p.clientCert,
		projection.EnvTLSKeyFile + "=" + p.clientKey,
		host.EnvTaskQueue + "=secrets",
		host.EnvLogLevel + "=debug",
	}
	cfg, err := host.LoadConfig(nil, environ, io.Discard)
	require.NoError(t, err)
	require.NotNil(t, cfg.Client.Credentials, "the API key from its file")
	require.NotNil(t, cfg.Client.ConnectionOptions.TLS, "TLS from the TEMPORAL_TLS_* files")
	logs, stop := hostWorker(t, cfg, "debug")

	// A client of the same server without TLS starts the run.
	c := newClient(t, s, client.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	plan := compile(t, `
workflow_id: secrets
initial_step: a
steps:
  - name: a
    action: log
    params: {message: hello}
    next: b
  - name: b
    action: transform
    params: {mapping: {ok: "true"}}
`)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "secrets-1", TaskQueue: "secrets"}, contract.WorkflowType, workflows.NewInput(plan, nil))
	require.NoError(t, err)
	var res workflows.Result
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, statemachine.Complete, res.State)
	require.Positive(t, verified.Load(), "the worker reached Temporal with its client certificate")

	// The mirror, read as the ACL user over TLS with the same settings.
	rc, ok, err := projection.ConfigFromEnv(func(k string) string {
		for _, kv := range environ {
			if name, v, _ := strings.Cut(kv, "="); name == k {
				return v
			}
		}
		return ""
	})
	require.NoError(t, err)
	require.True(t, ok)
	reader, err := rc.Client()
	require.NoError(t, err)
	defer reader.Close()
	require.Eventually(t, func() bool {
		pr, err := projection.NewReader(reader, rc.Options).Progress(ctx, "secrets-1")
		return err == nil && pr.IsComplete
	}, time.Minute, 50*time.Millisecond, "the run's progress in Redis")
	stop()

	out := logs.String()
	require.Contains(t, out, `"level":"debug"`, "debug logs were on")
	require.Contains(t, out, "rediss://statedriven@127.0.0.1", "the Redis URL is logged, without a password")
	require.Contains(t, out, `"tls":true,"credentials":true`, "the connection's settings are logged, without their values")
	keyBody := strings.Split(strings.TrimSpace(p.clientKeyPEM), "\n")[1]
	for name, secret := range map[string]string{"the API key": apiKey, "the Redis password": redisPassword, "the client key": keyBody} {
		require.NotContains(t, out, secret, "%s is in the logs", name)
	}
	t.Logf("%d lines of debug logs, no secret in them; %d verified mTLS connections", strings.Count(out, "\n"), verified.Load())
}
