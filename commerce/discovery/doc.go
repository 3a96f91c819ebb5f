// Package discovery is how viewers find what to watch and buy, and how
// sellers see what worked: the interaction recorder (views, clicks, watch
// time, carts, purchases; batched, never blocking a viewer), follows and
// go-live alerts across nodes, hashtags and search, the For You feed, share
// links, seller analytics and the retention of all of it. It is built on
// the commerce core (shops, products, streams, roles) and hears what the
// core does through commerce.Activity and commerce.OrderEvents; the core
// knows nothing of it. Storage is behind Store (commerce/sqlstore).
//
// # The For You feed
//
// A feed is a ranked list of at most FeedSize items — streams live now and
// active, in-stock products — for one viewer, served in pages. Every
// candidate i gets
//
//	score(i) = 0.5·P(i) + 1.0·A(i) + 1.0·F(i) + 1.0·C(i) + 3.0·L(i) + 10·F(i)·L(i)
//
//	P  popularity with recency decay: ln(1+pop(i)) / ln(1+max pop), where
//	   pop is the decayed sum of interaction weights (half-life
//	   PopularityHalfLife, 3 days): view 1, click 2, share 3, add to cart 4,
//	   purchase 8, comment 1, like 0.2 per tap (at most 10 per viewer and
//	   batch), watch 1 + min(minutes, 30)/10, joining a room 0.5.
//	A  hashtag affinity: the sum over i's hashtags of the viewer's decayed
//	   affinity for each (the same weights, split evenly over the hashtags
//	   of what they engaged with, half-life 14 days), divided by their
//	   strongest hashtag's, at most 1. Only the 8 strongest hashtags count.
//	F  1 when the viewer follows i's shop.
//	C  co-occurrence ("viewers who watched or bought X also bought Y"): the
//	   sum over the viewer's recent strong items j (watched ≥ 30 s, carted,
//	   bought; the last 20 within 30 days) of the decayed heat of the pair
//	   (j, i), divided by the largest among the candidates. When a viewer
//	   engages strongly with an item new to them, it is paired both ways with
//	   each of their recent strong items, gaining min(strength) — watch 1,
//	   cart 2, purchase 3 — with a half-life of 30 days.
//	L  1 for a stream that is live now.
//
// A followed shop's live stream therefore comes first (the 10·F·L term).
// Other live streams come next unless a followed shop's product matches the
// viewer on every other term (3·L outweighs A, C and P together: at most
// 2.5), then the rest by score; ties go to streams, then to newer IDs. A
// followed shop and a perfect hashtag match weigh the same, so the shops a
// viewer follows do not crowd out what they like elsewhere.
// Products the viewer bought in the last 30 days, drafts, archived and sold
// out products are left out. Anonymous viewers have no A, F or C: they get
// the popular/live mix.
//
// Exploration: slot p (0-based) goes to an exploration item when
// ⌊(p+1)·ε⌋ > ⌊p·ε⌋ with ε = ExplorationRate — for 0.1 the slots 9, 19,
// 29, …, exactly ⌊n·ε⌋ of the first n items. Exploration items are the
// newest active products and the live streams of shops opened within
// NewSellerAge (not of shops the viewer follows, not bought), in an order
// shuffled per viewer and hour, so new sellers get seen whatever their
// popularity. When that pool runs dry the slot goes to the next ranked
// item; when the ranked items run out, the rest of the feed is exploration.
//
// Cost is bounded whatever the catalogue or the viewer's history: the
// candidates are the live streams (≤ 200), the hottest products (≤ 300),
// the hottest products of the viewer's 8 strongest hashtags (30 each), the
// hottest and newest products of the 20 most recently followed shops (8 +
// 8 each), the neighbours of the viewer's 20 recent strong items (15 each)
// and the exploration pool (≤ 300). Every list is one short index range
// over incrementally maintained heats (see heat.go); lists that
// viewers share are cached for CandidateTTL, and the viewer's own profile
// costs three small index reads per feed.
package discovery
