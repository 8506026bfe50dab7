package devserver

import (
	"fmt"
	"net"
	"strconv"
)

// ports are those the server listens on. reservePorts holds a listener on
// each until it is released, so that the free ones it picks are all
// different and the ones asked for are known to be free; the UI's is held
// longer than the server's, until the UI starts.
type ports struct {
	frontend, ui int
	// history, matching and the internal worker service: gRPC ports.
	services [3]int
	// membership (ringpop) ports of the four services.
	membership [4]int

	listeners  []net.Listener
	uiListener net.Listener
}

func reservePorts(opts Options) (*ports, error) {
	p := &ports{}
	var err error
	if p.frontend, err = p.reserve(opts.IP, opts.Port); err != nil {
		return nil, fmt.Errorf("frontend port: %w", err)
	}
	if opts.UIPort != NoUI {
		if p.ui, err = p.reserve(opts.IP, opts.UIPort); err != nil {
			p.releaseAll()
			return nil, fmt.Errorf("web UI port: %w", err)
		}
		p.uiListener = p.listeners[len(p.listeners)-1]
		p.listeners = p.listeners[:len(p.listeners)-1]
	}
	for _, dst := range []*int{&p.services[0], &p.services[1], &p.services[2], &p.membership[0], &p.membership[1], &p.membership[2], &p.membership[3]} {
		if *dst, err = p.reserve("127.0.0.1", 0); err != nil {
			p.releaseAll()
			return nil, fmt.Errorf("internal port: %w", err)
		}
	}
	return p, nil
}

func (p *ports) reserve(ip string, port int) (int, error) {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if port != 0 {
			return 0, fmt.Errorf("%s is taken (another Temporal server running?): choose another port: %w", addr, err)
		}
		return 0, err
	}
	p.listeners = append(p.listeners, l)
	return l.Addr().(*net.TCPAddr).Port, nil
}

// releaseServer frees the server's ports, for it to bind.
func (p *ports) releaseServer() {
	for _, l := range p.listeners {
		_ = l.Close()
	}
	p.listeners = nil
}

// releaseAll frees every port still held. It may be called again.
func (p *ports) releaseAll() {
	p.releaseServer()
	if p.uiListener != nil {
		_ = p.uiListener.Close()
		p.uiListener = nil
	}
}
