package projection

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Environment variables that ConfigFromEnv reads.
const (
	EnvURL        = "REDIS_URL"
	EnvPrefix     = "STATEDRIVEN_REDIS_PREFIX"
	EnvTTL        = "STATEDRIVEN_REDIS_TTL"
	EnvHistoryMax = "STATEDRIVEN_REDIS_HISTORY_MAX"
	// EnvPasswordFile names a file holding the password of REDIS_URL's
	// user (an ACL user, or the default one), for secrets mounted as
	// files: the URL then carries no password.
	EnvPasswordFile = "STATEDRIVEN_REDIS_PASSWORD_FILE"
	// EnvTLSCAFile, EnvTLSCertFile and EnvTLSKeyFile name PEM files: the
	// certificate authorities that sign the server's certificate (default:
	// the system's), and the client's certificate and key for a server
	// that asks for one (mutual TLS). They need a rediss:// URL.
	EnvTLSCAFile   = "STATEDRIVEN_REDIS_TLS_CA_FILE"
	EnvTLSCertFile = "STATEDRIVEN_REDIS_TLS_CERT_FILE"
	EnvTLSKeyFile  = "STATEDRIVEN_REDIS_TLS_KEY_FILE"
)

// Config is how a process reaches the mirror: a Redis URL and the keys'
// options.
//
// URL takes three forms, each parsed by go-redis's own parser:
//
//   - one server: redis://[user:password@]host:port[/db] (rediss:// for
//     TLS), with go-redis's query options (dial_timeout=3s, ...);
//     redis.ParseURL.
//   - Sentinel, when the URL has a master_name parameter:
//     redis://[sentinel-user:sentinel-password@]sentinel:port[/db]?master_name=NAME[&addr=sentinel2:port...]
//     with the master's own credentials in username= and password=;
//     redis.ParseFailoverURL.
//   - Cluster, when the URL has addr parameters or cluster=true:
//     redis://[user:password@]node1:port?addr=node2:port&addr=node3:port,
//     or redis://node:port?cluster=true for a cluster reached through
//     one seed address; redis.ParseClusterURL (cluster=true is removed
//     before). A cluster has no databases: a /db path is ignored.
type Config struct {
	// URL names the server, the Sentinels or the cluster nodes.
	URL string
	// PasswordFile, when set, holds the password of the URL's user (an
	// ACL user, or the default one), read when a client is made; the URL
	// then carries no password. For secrets mounted as files.
	PasswordFile string
	// TLSCAFile, TLSCertFile and TLSKeyFile name PEM files: the
	// authorities that sign the server's certificate (default: the
	// system's), and the client's certificate and key for a server that
	// asks for one. They need a rediss:// URL.
	TLSCAFile, TLSCertFile, TLSKeyFile string
	Options
}

// ConfigFromEnv reads REDIS_URL, STATEDRIVEN_REDIS_PREFIX,
// STATEDRIVEN_REDIS_TTL (a Go duration such as 24h) and
// STATEDRIVEN_REDIS_HISTORY_MAX (records kept per run; negative: all)
// through getenv (os.Getenv in a program). ok is false when REDIS_URL is
// unset or empty: the process runs without a mirror. The error lists
// every bad variable by name; it never shows a password.
func ConfigFromEnv(getenv func(string) string) (c Config, ok bool, err error) {
	c.URL = getenv(EnvURL)
	if c.URL == "" {
		return Config{}, false, nil
	}
	var errs []error
	if _, err := parseURL(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvURL, err))
	}
	if v := getenv(EnvPrefix); v != "" {
		if strings.ContainsAny(v, "{}") {
			errs = append(errs, fmt.Errorf("%s: %q has a brace; the braces of a key are the run's Redis Cluster hash tag", EnvPrefix, v))
		}
		c.Prefix = v
	}
	if v := getenv(EnvTTL); v != "" {
		ttl, err := time.ParseDuration(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %q is not a duration (for example 24h or 90m)", EnvTTL, v))
		case ttl < time.Millisecond:
			errs = append(errs, fmt.Errorf("%s: %q must be at least 1ms", EnvTTL, v))
		}
		c.TTL = ttl
	}
	if v := getenv(EnvHistoryMax); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a whole number (records kept per run; negative keeps all)", EnvHistoryMax, v))
		}
		c.MaxHistory = n
	}
	c.PasswordFile = getenv(EnvPasswordFile)
	c.TLSCAFile, c.TLSCertFile, c.TLSKeyFile = getenv(EnvTLSCAFile), getenv(EnvTLSCertFile), getenv(EnvTLSKeyFile)
	if len(errs) == 0 {
		// Read the files now, so a bad one stops the process at start.
		if conn, err := parseURL(c.URL); err == nil {
			errs = append(errs, c.secure(conn))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, false, err
	}
	return c, true, nil
}

// secure applies the password file and the TLS files to conn.
func (c Config) secure(conn connection) error {
	var errs []error
	password := ""
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", EnvPasswordFile, err))
		case strings.TrimRight(string(b), "\r\n") == "":
			errs = append(errs, fmt.Errorf("%s: %s is empty", EnvPasswordFile, c.PasswordFile))
		default:
			password = strings.TrimRight(string(b), "\r\n")
		}
	}
	tlsConfig := conn.tlsConfig()
	if c.TLSCAFile != "" || c.TLSCertFile != "" || c.TLSKeyFile != "" {
		if tlsConfig == nil {
			errs = append(errs, fmt.Errorf("%s, %s and %s need TLS: write the URL as rediss://", EnvTLSCAFile, EnvTLSCertFile, EnvTLSKeyFile))
		} else if err := c.loadTLS(tlsConfig); err != nil {
			errs = append(errs, err)
		}
	}
	if password != "" {
		conn.setPassword(password)
	}
	return errors.Join(errs...)
}

// loadTLS adds the TLS files to t.
func (c Config) loadTLS(t *tls.Config) error {
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return fmt.Errorf("%s: %w", EnvTLSCAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: %s holds no PEM certificate", EnvTLSCAFile, c.TLSCAFile)
		}
		t.RootCAs = pool
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return fmt.Errorf("%s and %s go together: set both for a client certificate, or neither", EnvTLSCertFile, EnvTLSKeyFile)
	}
	if c.TLSCertFile != "" {
		// The key's bytes never reach an error message.
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return fmt.Errorf("%s/%s: cannot load the client certificate and key: %w", EnvTLSCertFile, EnvTLSKeyFile, err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return nil
}

// Client returns a client for c.URL: a *redis.Client for one server or
// Sentinel, a *redis.ClusterClient for a cluster. It does not connect
// until first used. The caller closes it.
func (c Config) Client() (redis.UniversalClient, error) {
	conn, err := c.connection()
	if err != nil {
		return nil, err
	}
	return conn.client(), nil
}

// tlsConfig is the connection's TLS configuration: nil without TLS
// (a redis:// URL).
func (c connection) tlsConfig() *tls.Config {
	switch {
	case c.failover != nil:
		return c.failover.TLSConfig
	case c.cluster != nil:
		return c.cluster.TLSConfig
	default:
		return c.single.TLSConfig
	}
}

func (c connection) setPassword(p string) {
	switch {
	case c.failover != nil:
		c.failover.Password = p
	case c.cluster != nil:
		c.cluster.Password = p
	default:
		c.single.Password = p
	}
}

// connection parses c.URL and applies the password and TLS files.
func (c Config) connection() (connection, error) {
	conn, err := parseURL(c.URL)
	if err != nil {
		return connection{}, fmt.Errorf("%s: %w", EnvURL, err)
	}
	if err := c.secure(conn); err != nil {
		return connection{}, err
	}
	return conn, nil
}

// connection is what a URL names: exactly one field is set.
type connection struct {
	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
}

func (c connection) client() redis.UniversalClient {
	switch {
	case c.failover != nil:
		return redis.NewFailoverClient(c.failover)
	case c.cluster != nil:
		return redis.NewClusterClient(c.cluster)
	default:
		return redis.NewClient(c.single)
	}
}

// parseURL picks the form of raw by its query parameters (see Config) and
// hands it to go-redis's parser. Its errors never hold a password.
func parseURL(raw string) (connection, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, password and all.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return connection{}, redact(fmt.Errorf("not a URL: %w", err), raw, nil)
	}
	q := u.Query()
	clusterFlag := q.Get("cluster")
	sentinel := q.Has("master_name")
	var conn connection
	switch {
	case sentinel && q.Has("cluster"):
		err = errors.New("master_name (Sentinel) and cluster cannot be used together")
	case sentinel:
		conn.failover, err = redis.ParseFailoverURL(raw)
	case q.Has("cluster"):
		isCluster, perr := strconv.ParseBool(clusterFlag)
		if perr != nil {
			err = fmt.Errorf("cluster=%q is not true or false", clusterFlag)
			break
		}
		q.Del("cluster")
		u.RawQuery = q.Encode()
		if isCluster || q.Has("addr") {
			conn.cluster, err = redis.ParseClusterURL(u.String())
		} else {
			conn.single, err = redis.ParseURL(u.String())
		}
	case q.Has("addr"):
		conn.cluster, err = redis.ParseClusterURL(raw)
	default:
		conn.single, err = redis.ParseURL(raw)
	}
	if err != nil {
		return connection{}, redact(err, raw, u)
	}
	return conn, nil
}

// redact replaces every password that raw carries (in its user info, or
// as a password or sentinel_password parameter) in err's text, and names
// the URL by its redacted form.
func redact(err error, raw string, u *url.URL) error {
	msg := err.Error()
	var secrets []string
	if u != nil {
		if p, ok := u.User.Password(); ok {
			secrets = append(secrets, p, url.QueryEscape(p), url.PathEscape(p))
		}
		q := u.Query()
		for _, name := range []string{"password", "sentinel_password"} {
			for _, p := range q[name] {
				secrets = append(secrets, p, url.QueryEscape(p))
			}
		}
	} else if i, j := strings.Index(raw, "://"), strings.LastIndex(raw, "@"); i >= 0 && j > i {
		// Unparseable: hide all of the user info.
		secrets = append(secrets, raw[i+3:j])
	}
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	if u != nil {
		return fmt.Errorf("%s: %s", redactedURL(u), msg)
	}
	return errors.New(msg)
}

// redactedURL is u with its password and password parameters replaced.
func redactedURL(u *url.URL) string {
	c := *u
	q := c.Query()
	for _, name := range []string{"password", "sentinel_password"} {
		if q.Has(name) {
			q.Set(name, "xxxxx")
		}
	}
	c.RawQuery = q.Encode()
	return c.Redacted()
}

// Redacted is c's URL with its passwords replaced, for logs.
func (c Config) Redacted() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return "(a REDIS_URL that does not parse)"
	}
	return redactedURL(u)
}

// WriterClient is Client for a worker's writes: unless the URL says
// otherwise, a failed command is not retried and a failed dial is not
// tried again, since the run itself tries again later with everything
// that piled up. So a Redis that is down costs a run's workflow task one
// refused dial, not go-redis's retries.
func (c Config) WriterClient() (redis.UniversalClient, error) {
	conn, err := c.connection()
	if err != nil {
		return nil, err
	}
	switch {
	case conn.single != nil:
		conn.single.MaxRetries = cmp.Or(conn.single.MaxRetries, -1)
		conn.single.DialerRetries = cmp.Or(conn.single.DialerRetries, 1)
	case conn.failover != nil:
		conn.failover.MaxRetries = cmp.Or(conn.failover.MaxRetries, -1)
		conn.failover.DialerRetries = cmp.Or(conn.failover.DialerRetries, 1)
	case conn.cluster != nil:
		conn.cluster.MaxRetries = cmp.Or(conn.cluster.MaxRetries, -1)
	}
	return conn.client(), nil
}

// Variables lists the environment variables ConfigFromEnv reads.
func Variables() []string {
	return []string{EnvURL, EnvPrefix, EnvTTL, EnvHistoryMax,
		EnvPasswordFile, EnvTLSCAFile, EnvTLSCertFile, EnvTLSKeyFile}
}
