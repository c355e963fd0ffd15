package nexmark

import (
	"math"
	"strconv"

	"github.com/sluice-io/sluice/record"
)

// The constants of the Nexmark generator, as Apache Beam's and the
// nexmark/nexmark Flink generators define them (docs/nexmark.md).
const (
	personProportion  = 1
	auctionProportion = 3
	bidProportion     = 46
	totalProportion   = personProportion + auctionProportion + bidProportion

	firstPersonID   = 1000
	firstAuctionID  = 1000
	firstCategoryID = 10
	numCategories   = 5

	personIDLead  = 10 // ids ahead of the last person that bids and auctions may name
	auctionIDLead = 10 // ids ahead of the last auction that bids may name

	numActivePeople     = 1000
	numInFlightAuctions = 100

	hotAuctionRatio = 2 // 1 - 1/2 of bids go to a hot auction
	hotSellerRatio  = 4 // 1 - 1/4 of auctions are by a hot seller
	hotBidderRatio  = 4 // 1 - 1/4 of bids are by a hot bidder
	hotChannelRatio = 2 // 1 - 1/2 of bids come through a hot channel
	hotIDBatch      = 100

	channels = 10_000

	avgPersonBytes  = 200
	avgAuctionBytes = 500
	avgBidBytes     = 100

	minStringLength = 3
)

// Generation tables, as in the Java generators.
var (
	usStates    = [...]string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	usCities    = [...]string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	firstNames  = [...]string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	lastNames   = [...]string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}
	hotChannels = [...]string{"Google", "Facebook", "Baidu", "Apple"}
)

// Stream names one of the three kinds of Nexmark events.
type Stream string

// The Nexmark event kinds.
const (
	StreamPerson  Stream = "person"
	StreamAuction Stream = "auction"
	StreamBid     Stream = "bid"
)

// Streams lists the kinds in the order of the columns' documentation.
var Streams = []Stream{StreamBid, StreamAuction, StreamPerson}

// Kind returns the kind of event id: by id mod 50, one person, then three
// auctions, then 46 bids.
func Kind(id int64) Stream {
	switch rem := id % totalProportion; {
	case rem < personProportion:
		return StreamPerson
	case rem < personProportion+auctionProportion:
		return StreamAuction
	}
	return StreamBid
}

// Columns returns the record columns of a kind's events, in order; nil for
// an unknown kind.
func Columns(s Stream) []record.Column {
	ts, str, num := record.ColumnTimestamp, record.ColumnString, record.ColumnInt
	switch s {
	case StreamBid:
		return []record.Column{{Name: "auction", Type: num}, {Name: "bidder", Type: num}, {Name: "price", Type: num},
			{Name: "channel", Type: str}, {Name: "url", Type: str}, {Name: "date_time", Type: ts}, {Name: "extra", Type: str}}
	case StreamAuction:
		return []record.Column{{Name: "id", Type: num}, {Name: "item_name", Type: str}, {Name: "description", Type: str},
			{Name: "initial_bid", Type: num}, {Name: "reserve", Type: num}, {Name: "date_time", Type: ts},
			{Name: "expires", Type: ts}, {Name: "seller", Type: num}, {Name: "category", Type: num}, {Name: "extra", Type: str}}
	case StreamPerson:
		return []record.Column{{Name: "id", Type: num}, {Name: "name", Type: str}, {Name: "email_address", Type: str},
			{Name: "credit_card", Type: str}, {Name: "city", Type: str}, {Name: "state", Type: str},
			{Name: "date_time", Type: ts}, {Name: "extra", Type: str}}
	}
	return nil
}

// Generator makes Nexmark events from their ids. Each event is a pure
// function of its id, the event rate and the base time: java.util.Random
// seeded with the id draws its values, so that any subset of ids (a
// partition) is generated alone and identically. A Generator reuses
// scratch buffers, so it is used by one goroutine at a time.
type Generator struct {
	baseTime int64   // Unix ms of event 0
	delayUs  float64 // microseconds between two events
	hotURLs  [len(hotChannels)][]byte
	scratch  []byte
	scratch2 []byte
}

// NewGenerator returns a generator of eventRate events per second of event
// time (> 0) from baseTime (Unix ms).
func NewGenerator(eventRate int64, baseTime int64) *Generator {
	g := &Generator{baseTime: baseTime, delayUs: 1_000_000.0 / float64(eventRate)}
	for i := range g.hotURLs {
		g.hotURLs[i] = appendBaseURL(nil, int64(i))
	}
	return g
}

// Timestamp returns the event time of event id in Unix ms: base time plus
// id inter-event delays, truncated to the millisecond as the Java
// generator's timestampForEvent does.
func (g *Generator) Timestamp(id int64) int64 {
	return g.baseTime + int64(float64(id)*g.delayUs)/1000
}

// AppendEvent appends event id as one row to b, whose schema must have the
// columns of Kind(id), and returns its kind.
func (g *Generator) AppendEvent(b *record.Batch, id int64) Stream {
	k := Kind(id)
	r := newJavaRandom(id)
	switch k {
	case StreamPerson:
		g.appendPerson(b, id, &r)
	case StreamAuction:
		g.appendAuction(b, id, &r)
	default:
		g.appendBid(b, id, &r)
	}
	b.Rows++
	return k
}

// lastPersonID is lastBase0PersonId: the last person generated at or
// before event id, from 0.
func lastPersonID(id int64) int64 {
	epoch, offset := id/totalProportion, id%totalProportion
	if offset >= personProportion {
		offset = personProportion - 1
	}
	return epoch*personProportion + offset
}

// lastAuctionID is lastBase0AuctionId: the last auction generated at or
// before event id, from 0 (-1 before the first).
func lastAuctionID(id int64) int64 {
	epoch, offset := id/totalProportion, id%totalProportion
	switch {
	case offset < personProportion:
		epoch--
		offset = auctionProportion - 1
	case offset >= personProportion+auctionProportion:
		offset = auctionProportion - 1
	default:
		offset -= personProportion
	}
	return epoch*auctionProportion + offset
}

// nextPersonID is nextBase0PersonId: one of the 1000 active people or the
// 10 ids after them.
func nextPersonID(id int64, r *javaRandom) int64 {
	people := lastPersonID(id) + 1
	active := min(people, numActivePeople)
	return people - active + r.longn(active+personIDLead)
}

// nextAuctionID is nextBase0AuctionId: one of the last 100 auctions or the
// 10 ids after them.
func nextAuctionID(id int64, r *javaRandom) int64 {
	maxID := lastAuctionID(id)
	minID := max(maxID-numInFlightAuctions, 0)
	return minID + r.longn(maxID-minID+1+auctionIDLead)
}

// nextPrice is PriceGenerator.nextPrice, Math.round(10^(6u) × 100) (Java's
// Math.round rounds halves up, as math.Round does for positive values): a
// log-uniform price in cents from 1.00 to 1,000,000.00.
func nextPrice(r *javaRandom) int64 {
	return int64(math.Round(math.Pow(10, r.nextDouble()*6) * 100))
}

func (g *Generator) appendPerson(b *record.Batch, id int64, r *javaRandom) {
	c := b.Columns
	// Every string is built in one scratch buffer: buf[marks[i]:marks[i+1]].
	buf := append(g.scratch[:0], firstNames[r.intn(int32(len(firstNames)))]...)
	buf = append(buf, ' ')
	buf = append(buf, lastNames[r.intn(int32(len(lastNames)))]...)
	nameEnd := len(buf)
	buf = appendString(buf, r, 7, ' ')
	buf = append(buf, '@')
	buf = appendString(buf, r, 5, ' ')
	buf = append(buf, ".com"...)
	emailEnd := len(buf)
	for i := range 4 {
		if i > 0 {
			buf = append(buf, ' ')
		}
		buf = appendPadded(buf, r.intn(10000))
	}
	g.scratch = buf
	city, state := usCities[r.intn(int32(len(usCities)))], usStates[r.intn(int32(len(usStates)))]
	c[0].AppendInt(lastPersonID(id) + firstPersonID)
	c[1].AppendString(buf[:nameEnd])
	c[2].AppendString(buf[nameEnd:emailEnd])
	c[3].AppendString(buf[emailEnd:])
	c[4].AppendText(city)
	c[5].AppendText(state)
	c[6].AppendInt(g.Timestamp(id))
	size := 8 + len(buf) + len(city) + len(state)
	c[7].AppendString(g.appendExtra(r, size, avgPersonBytes))
}

func (g *Generator) appendAuction(b *record.Batch, id int64, r *javaRandom) {
	c := b.Columns
	var seller int64
	if r.intn(hotSellerRatio) > 0 {
		seller = lastPersonID(id) / hotIDBatch * hotIDBatch
	} else {
		seller = nextPersonID(id, r)
	}
	category := firstCategoryID + int64(r.intn(numCategories))
	initialBid := nextPrice(r)
	ts := g.Timestamp(id)
	expires := ts + g.auctionLength(id, ts, r)
	buf := appendString(g.scratch[:0], r, 20, ' ')
	nameEnd := len(buf)
	buf = appendString(buf, r, 100, ' ')
	g.scratch = buf
	name, desc := buf[:nameEnd], buf[nameEnd:]
	reserve := initialBid + nextPrice(r)
	c[0].AppendInt(lastAuctionID(id) + firstAuctionID)
	c[1].AppendString(name)
	c[2].AppendString(desc)
	c[3].AppendInt(initialBid)
	c[4].AppendInt(reserve)
	c[5].AppendInt(ts)
	c[6].AppendInt(expires)
	c[7].AppendInt(seller + firstPersonID)
	c[8].AppendInt(category)
	c[9].AppendString(g.appendExtra(r, 8+len(name)+len(desc)+8+8+8+8+8, avgAuctionBytes))
}

// auctionLength is nextAuctionLengthMs: 1 plus a uniform draw below twice
// the event-time distance to the auction 100 auctions ahead.
func (g *Generator) auctionLength(id, ts int64, r *javaRandom) int64 {
	const eventsForAuctions = numInFlightAuctions * totalProportion / auctionProportion
	horizon := g.Timestamp(id+eventsForAuctions) - ts
	return 1 + r.longn(max(horizon*2, 1))
}

func (g *Generator) appendBid(b *record.Batch, id int64, r *javaRandom) {
	c := b.Columns
	var auction, bidder int64
	if r.intn(hotAuctionRatio) > 0 {
		auction = lastAuctionID(id) / hotIDBatch * hotIDBatch
	} else {
		auction = nextAuctionID(id, r)
	}
	if r.intn(hotBidderRatio) > 0 {
		// The second person of the batch, so that hot bidders and hot
		// sellers differ.
		bidder = lastPersonID(id)/hotIDBatch*hotIDBatch + 1
	} else {
		bidder = nextPersonID(id, r)
	}
	c[0].AppendInt(auction + firstAuctionID)
	c[1].AppendInt(bidder + firstPersonID) // once: the Flink generator adds it twice
	c[2].AppendInt(nextPrice(r))
	if r.intn(hotChannelRatio) > 0 {
		i := r.intn(int32(len(hotChannels)))
		c[3].AppendText(hotChannels[i])
		c[4].AppendString(g.hotURLs[i])
	} else {
		ch := r.intn(channels)
		buf := append(g.scratch[:0], "channel-"...)
		buf = strconv.AppendInt(buf, int64(ch), 10)
		nameEnd := len(buf)
		buf = appendChannelURL(buf, ch)
		g.scratch = buf
		c[3].AppendString(buf[:nameEnd])
		c[4].AppendString(buf[nameEnd:])
	}
	c[5].AppendInt(g.Timestamp(id))
	c[6].AppendString(g.appendExtra(r, 8+8+8+8, avgBidBytes))
}

// appendString is StringsGenerator.nextString(random, maxLength, special):
// 3 to maxLength-1 characters, each special with probability 1/13, else a
// lowercase letter, trimmed of spaces at both ends as Java's String.trim.
func appendString(dst []byte, r *javaRandom, maxLength int32, special byte) []byte {
	n := minStringLength + r.intn(maxLength-minStringLength)
	start := len(dst)
	for range n {
		if r.intn(13) == 0 {
			dst = append(dst, special)
		} else {
			dst = append(dst, byte('a'+r.intn(26)))
		}
	}
	s := dst[start:]
	lo, hi := 0, len(s)
	for lo < hi && s[lo] <= ' ' {
		lo++
	}
	for hi > lo && s[hi-1] <= ' ' {
		hi--
	}
	copy(s, s[lo:hi])
	return dst[:start+hi-lo]
}

// appendExactString is nextExactString: length characters, six from each
// nextInt(); a negative draw yields characters below 'a' as in Java.
func appendExactString(dst []byte, r *javaRandom, length int) []byte {
	var rnd int32
	left := 0
	for range length {
		if left == 0 {
			rnd, left = r.nextInt(), 6
		}
		dst = append(dst, byte('a'+rnd%26))
		rnd /= 26
		left--
	}
	return dst
}

// appendExtra is nextExtra into the generator's second scratch buffer:
// padding that brings an event of currentSize bytes to avg bytes on
// average, within ±20%.
func (g *Generator) appendExtra(r *javaRandom, currentSize, avg int) []byte {
	if currentSize > avg {
		return g.scratch2[:0]
	}
	avg -= currentSize
	delta := int(math.Round(float64(avg) * 0.2))
	size := avg - delta
	if delta != 0 {
		size += int(r.intn(int32(2 * delta)))
	}
	g.scratch2 = appendExactString(g.scratch2[:0], r, size)
	return g.scratch2
}

// appendPadded appends n (0 to 9999) with leading zeros to four digits.
func appendPadded(dst []byte, n int32) []byte {
	return append(dst, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}

// appendBaseURL appends an item URL drawn from java.util.Random seeded
// with seed. The Flink generator draws these from an unseeded Random, so
// they differ on every run; seeding makes them reproducible (as
// nexmark-rs does).
func appendBaseURL(dst []byte, seed int64) []byte {
	r := newJavaRandom(seed)
	return appendURLFrom(dst, &r)
}

func appendURLFrom(dst []byte, r *javaRandom) []byte {
	dst = append(dst, "https://www.nexmark.com/"...)
	for range 3 {
		dst = appendString(dst, r, 5, '_')
		dst = append(dst, '/')
	}
	return append(dst, "item.htm?query=1"...)
}

// appendChannelURL appends the URL of channel ch: its base URL and, for
// nine channels in ten, "&channel_id=" with |Integer.reverse(ch)| (Java's
// Math.abs, so channel 1 has -2147483648).
func appendChannelURL(dst []byte, ch int32) []byte {
	r := newJavaRandom(int64(ch))
	dst = appendURLFrom(dst, &r)
	if r.intn(10) > 0 {
		rev := reverseBits32(ch)
		if rev < 0 {
			rev = -rev
		}
		dst = append(dst, "&channel_id="...)
		dst = strconv.AppendInt(dst, int64(rev), 10)
	}
	return dst
}

// reverseBits32 is Java's Integer.reverse.
func reverseBits32(x int32) int32 {
	u := uint32(x)
	var out uint32
	for range 32 {
		out = out<<1 | u&1
		u >>= 1
	}
	return int32(out)
}
