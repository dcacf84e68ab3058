package external

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Handler decides for a Go child (Serve).
type Handler interface {
	// Decide answers one request. s holds the run's hello and the latest
	// energy signals of every site (Serve applies each request's
	// changes before the call); reply with s.Place, s.Defer or s.Reject.
	Decide(s *Session, r *Request) Reply
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(s *Session, r *Request) Reply

// Decide calls f.
func (f HandlerFunc) Decide(s *Session, r *Request) Reply { return f(s, r) }

// ServeOptions tune Serve.
type ServeOptions struct {
	// Forecast asks for the sites' forecasts (Session.Energy[i].Forecast).
	Forecast bool
	// Start, if set, sees the hello before the child answers it; an
	// error refuses the run (bad options, say) and Serve returns it.
	Start func(h *Hello) error
}

// Session is a Go child's view of its run.
type Session struct {
	Hello Hello
	// Energy is every site's latest energy, in the hello's site order.
	Energy []SiteEnergy
	// ForecastStartS is when the forecasts' first step starts.
	ForecastStartS float64

	index map[string]int
	in    *bufio.Reader
	out   *bufio.Writer
	enc   *json.Encoder
	req   *Request
}

// Site is the index of the site with the given ID in the hello's list
// (and Energy), or -1.
func (s *Session) Site(id string) int {
	if i, ok := s.index[id]; ok {
		return i
	}
	return -1
}

// Place answers r: run the work at the first of sites where one node has
// room for it.
func (s *Session) Place(r *Request, sites ...string) Reply {
	return Reply{Type: TypePlace, Seq: r.Seq, ID: r.Workload.ID, Sites: sites}
}

// Defer answers r: decide the work again at untilS (seconds after the
// run's start), expecting to run it at site ("" = not said).
func (s *Session) Defer(r *Request, untilS float64, site string) Reply {
	return Reply{Type: TypeDefer, Seq: r.Seq, ID: r.Workload.ID, UntilS: &untilS, Site: site}
}

// Reject answers r: refuse the work for reason.
func (s *Session) Reject(r *Request, reason string) Reply {
	return Reply{Type: TypeReject, Seq: r.Seq, ID: r.Workload.ID, Reason: reason}
}

// Sites asks the simulator for every site's full state now, during the
// current request's Decide.
func (s *Session) Sites() ([]SiteState, error) {
	if s.req == nil {
		return nil, errors.New("external: Sites outside Decide")
	}
	if err := s.write(Reply{Type: TypeQuery, Seq: s.req.Seq, ID: s.req.Workload.ID, What: "sites"}); err != nil {
		return nil, err
	}
	line, err := s.in.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("external: reading the state: %w", err)
	}
	var st State
	if err := decodeStrict(line, &st); err != nil {
		return nil, err
	}
	if st.Type != TypeState || st.Seq != s.req.Seq {
		return nil, fmt.Errorf("external: got %q for request %d while waiting for the state of request %d", st.Type, st.Seq, s.req.Seq)
	}
	return st.Sites, nil
}

func (s *Session) write(v any) error {
	if err := s.enc.Encode(v); err != nil {
		return err
	}
	return s.out.Flush()
}

// Serve runs a Go child: it answers the hello on in with a ready on out,
// then answers each request with h's reply, until in ends (nil) or
// breaks the protocol (an error). A child's main is typically
//
//	if err := external.Serve(os.Stdin, os.Stdout, external.ServeOptions{}, h); err != nil {
//		log.Fatal(err)
//	}
//
// and writes its logs to stderr, never stdout.
func Serve(in io.Reader, out io.Writer, opt ServeOptions, h Handler) error {
	s := &Session{in: bufio.NewReaderSize(in, 64<<10), out: bufio.NewWriter(out)}
	s.enc = json.NewEncoder(s.out)
	s.enc.SetEscapeHTML(false)
	line, err := s.in.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("external: reading the hello: %w", err)
	}
	if err := decodeStrict(line, &s.Hello); err != nil {
		return fmt.Errorf("external: hello: %w", err)
	}
	if s.Hello.Type != TypeHello {
		return fmt.Errorf("external: first message has type %q, want %q", s.Hello.Type, TypeHello)
	}
	if s.Hello.Protocol != Version {
		msg := fmt.Sprintf("this child speaks protocol version %d, not %d", Version, s.Hello.Protocol)
		_ = s.write(Ready{Type: TypeReady, Protocol: Version, Error: msg})
		return errors.New("external: " + msg)
	}
	if opt.Start != nil {
		if err := opt.Start(&s.Hello); err != nil {
			_ = s.write(Ready{Type: TypeReady, Protocol: Version, Error: err.Error()})
			return err
		}
	}
	s.index = make(map[string]int, len(s.Hello.Sites))
	s.Energy = make([]SiteEnergy, len(s.Hello.Sites))
	for i, site := range s.Hello.Sites {
		s.index[site.ID] = i
		s.Energy[i] = SiteEnergy{Site: site.ID, PUE: site.PUE}
	}
	if err := s.write(Ready{Type: TypeReady, Protocol: Version, Forecast: opt.Forecast}); err != nil {
		return fmt.Errorf("external: writing ready: %w", err)
	}
	var r Request
	for {
		line, err := s.in.ReadBytes('\n')
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("external: reading a request: %w", err)
		}
		r = Request{}
		if err := decodeStrict(line, &r); err != nil {
			return fmt.Errorf("external: request: %w", err)
		}
		if r.Type != TypeDecide {
			return fmt.Errorf("external: message of type %q, want %q", r.Type, TypeDecide)
		}
		for _, e := range r.Energy {
			i := s.Site(e.Site)
			if i < 0 {
				return fmt.Errorf("external: request %d: energy of unknown site %q", r.Seq, e.Site)
			}
			s.Energy[i] = e
		}
		if r.ForecastStartS != nil {
			s.ForecastStartS = *r.ForecastStartS
		}
		s.req = &r
		rep := h.Decide(s, &r)
		s.req = nil
		if err := s.write(rep); err != nil {
			return fmt.Errorf("external: writing the reply to request %d: %w", r.Seq, err)
		}
	}
}
