// Package dnstest is a tiny DNS server for tests: it answers A and AAAA
// queries from a fixed table on 127.0.0.1, so a test can make a name resolve
// anywhere (169.254.169.254 included) without touching /etc/hosts.
package dnstest

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/net/dns/dnsmessage"
)

// Server answers for the names it was started with; any other name is
// NXDOMAIN.
type Server struct {
	conn    net.PacketConn
	names   map[string][]netip.Addr
	queries atomic.Int64
	done    sync.WaitGroup
}

// Start serves names (host name to addresses) on a free UDP port of 127.0.0.1.
func Start(names map[string][]netip.Addr) (*Server, error) {
	var lc net.ListenConfig
	conn, err := lc.ListenPacket(context.Background(), "udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{conn: conn, names: map[string][]netip.Addr{}}
	for n, addrs := range names {
		s.names[fqdn(n)] = addrs
	}
	s.done.Add(1)
	go s.serve()
	return s, nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.conn.LocalAddr().String() }

// Queries is how many questions the server answered.
func (s *Server) Queries() int64 { return s.queries.Load() }

// Resolver resolves every name through this server (after /etc/hosts,
// as Go's resolver always does).
func (s *Server) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", s.Addr())
	}}
}

// Close stops the server.
func (s *Server) Close() error {
	err := s.conn.Close()
	s.done.Wait()
	return err
}

func (s *Server) serve() {
	defer s.done.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		out, err := s.answer(buf[:n])
		if err != nil {
			continue // not a query this server can parse: no answer
		}
		_, _ = s.conn.WriteTo(out, from)
	}
}

// answer builds the response to one query message.
func (s *Server) answer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	s.queries.Add(1)
	addrs, known := s.names[strings.ToLower(q.Name.String())]
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	for _, a := range addrs {
		rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 1}
		switch {
		case q.Type == dnsmessage.TypeA && a.Is4():
			err = b.AResource(rr, dnsmessage.AResource{A: a.As4()})
		case q.Type == dnsmessage.TypeAAAA && a.Is6() && !a.Is4In6():
			err = b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
		if err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

func fqdn(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}
