package selection

import (
	"math"
	"sort"

	"github.com/clipmill/clipmill/internal/stats"
)

// topic is a stretch of sentences about one thing.
type topic struct {
	first, last int     // sentence indexes, inclusive
	relevance   float64 // prompt mentions per sentence, idf-weighted; 0 without a prompt
	words       []string
}

// Topic segmentation settings.
const (
	tileSeconds = 25.0 // speech compared on either side of a gap
	minTopicDur = 30.0 // seconds: shorter stretches are not topics of their own
	minTopicLen = 2    // sentences
)

// markRoles finds the intro (the opening sentences that welcome and
// announce), the outro (the closing ones that thank and sign off) and the
// segues (sentences that point to what comes next). A clip never starts on
// an intro or a segue, and never ends on a segue or an outro.
func (a *analysis) markRoles() {
	n := len(a.sents)
	limit := max(3, n/4)
	// The intro: the opening sentences that say so, allowing one between
	// them that does not ("Grab a drink.").
	last := -1
	for k := 0; k < min(n, limit+1); k++ {
		if a.hasAny(k, introPhrases) {
			last = k
		} else if k > last+1 {
			break
		}
	}
	for k := 0; k <= last; k++ {
		a.info[k].role = intro
	}
	first := n
	for k := n - 1; k >= max(0, n-1-limit); k-- {
		if a.hasAny(k, outroPhrases) {
			first = k
		} else if k < first-1 {
			break
		}
	}
	for k := first; k < n; k++ {
		if a.info[k].role == body {
			a.info[k].role = outro
		}
	}
	for k := range a.sents {
		if a.info[k].role == body && a.hasAny(k, seguePhrases) {
			a.info[k].role = segue
		}
	}
}

// findTopics splits the body of the talk into topics, TextTiling-style: at
// each gap between sentences it compares the words of the sentences before
// with those after, and a topic ends where that similarity dips deepest,
// helped by a long pause, a segue and a discourse marker ("next",
// "finally", "let's talk about"). Topics are at least half a minute long.
func (a *analysis) findTopics() {
	n := len(a.sents)
	a.topics = nil
	lo, hi := 0, n-1
	for lo < n && a.info[lo].role == intro {
		lo++
	}
	for hi >= 0 && a.info[hi].role == outro {
		hi--
	}
	if lo > hi {
		// A talk of intro and outro alone: one topic of everything.
		lo, hi = 0, n-1
	}
	vecs := make([]map[string]float64, n)
	for k, s := range a.sents {
		vecs[k] = map[string]float64{}
		for i := s.first; i <= s.last; i++ {
			if content(a.tokens[i]) {
				vecs[k][a.stems[i]] += a.idf[a.stems[i]]
			}
		}
	}
	a.usualGap = usualGap(a.sents)
	gaps := hi - lo // gap k-lo is between sentences k and k+1
	sim := make([]float64, gaps)
	for g := range sim {
		k := lo + g
		from, to := k, k+1
		for from > lo && a.sents[k].end-a.sents[from].start < tileSeconds {
			from--
		}
		for to < hi && a.sents[to].end-a.sents[k+1].start < tileSeconds {
			to++
		}
		sim[g] = cosine(sumVecs(vecs, from, k), sumVecs(vecs, k+1, to))
	}
	// Similarity relative to the talk's own cohesion: a talk of short
	// topics shares few words even inside one.
	if ref := stats.Percentile(sim, 0.8); ref > 0 {
		for g := range sim {
			sim[g] = math.Min(1, sim[g]/ref)
		}
	}
	score := make([]float64, gaps)
	for g := range score {
		k := lo + g
		left, right := sim[g], sim[g]
		for i := g - 1; i >= 0 && sim[i] >= left; i-- {
			left = sim[i]
		}
		for i := g + 1; i < gaps && sim[i] >= right; i++ {
			right = sim[i]
		}
		depth := (left - sim[g]) + (right - sim[g])
		pause := clamp((a.sents[k+1].start-a.sents[k].end-a.usualGap)/(a.usualGap+0.3), 0, 1)
		marker := 0.0
		if a.opensWith(k+1, topicMarkers) {
			marker = 0.3
		}
		if a.info[k].role == segue || a.info[k+1].role == segue {
			marker = 1 // a speaker who says they move on, moves on
		}
		score[g] = depth + 0.3*pause + marker
	}
	// Strongest gaps first, each kept when it leaves topics long enough on
	// both sides and stands out from the talk's usual dips.
	mean, sd := meanSD(score)

	order := make([]int, gaps)
	for g := range order {
		order[g] = g
	}
	sort.Slice(order, func(i, j int) bool { return score[order[i]] > score[order[j]] })
	cuts := []int{lo - 1, hi} // a topic runs from after one cut to the next
	for _, g := range order {
		if score[g] < math.Max(0.15, mean+0.5*sd) {
			break
		}
		k := lo + g
		i := sort.SearchInts(cuts, k)
		if a.topicOK(cuts[i-1]+1, k) && a.topicOK(k+1, cuts[i]) {
			cuts = append(cuts[:i], append([]int{k}, cuts[i:]...)...)
		}
	}
	for i := 0; i+1 < len(cuts); i++ {
		a.topics = append(a.topics, topic{first: cuts[i] + 1, last: cuts[i+1]})
	}
	for t, tp := range a.topics {
		for k := tp.first; k <= tp.last; k++ {
			a.info[k].topic = t
		}
	}
	for k := 0; k < lo; k++ {
		a.info[k].topic = 0
	}
	for k := hi + 1; k < n; k++ {
		a.info[k].topic = len(a.topics) - 1
	}
	a.describeTopics(vecs)
}

// topicOK reports whether sentences first..last are long enough to be a
// topic of their own.
func (a *analysis) topicOK(first, last int) bool {
	return last-first+1 >= minTopicLen && a.sents[last].end-a.sents[first].start >= minTopicDur
}

// describeTopics scores each topic's relevance to the prompt and names its
// most telling words.
func (a *analysis) describeTopics(vecs []map[string]float64) {
	for t := range a.topics {
		tp := &a.topics[t]
		sum := map[string]float64{}
		n := 0
		for k := tp.first; k <= tp.last; k++ {
			if a.info[k].role != body {
				continue
			}
			n++
			tp.relevance += a.info[k].hits
			for st, v := range vecs[k] {
				sum[st] += v
			}
		}
		tp.relevance /= math.Max(1, float64(n))
		stems := make([]string, 0, len(sum))
		for st := range sum {
			stems = append(stems, st)
		}
		sort.Slice(stems, func(i, j int) bool {
			if sum[stems[i]] != sum[stems[j]] {
				return sum[stems[i]] > sum[stems[j]]
			}
			return stems[i] < stems[j]
		})
		for _, st := range stems[:min(3, len(stems))] {
			tp.words = append(tp.words, a.surface(st, tp.first, tp.last))
		}
	}
}

// surface is the first spoken form of a stem in sentences first..last.
func (a *analysis) surface(st string, first, last int) string {
	for i := a.sents[first].first; i <= a.sents[last].last; i++ {
		if a.stems[i] == st {
			return a.tokens[i]
		}
	}
	return st
}

func usualGap(sents []sentence) float64 {
	var gaps []float64
	for k := 0; k+1 < len(sents); k++ {
		gaps = append(gaps, sents[k+1].start-sents[k].end)
	}
	if len(gaps) == 0 {
		return 0.4
	}
	sort.Float64s(gaps)
	return math.Max(0.2, gaps[len(gaps)/2])
}

func sumVecs(vecs []map[string]float64, from, to int) map[string]float64 {
	out := map[string]float64{}
	for k := from; k <= to; k++ {
		for st, v := range vecs[k] {
			out[st] += v
		}
	}
	return out
}

func cosine(a, b map[string]float64) float64 {
	var dot, na, nb float64
	for k, v := range a {
		na += v * v
		dot += v * b[k]
	}
	for _, v := range b {
		nb += v * v
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

func meanSD(v []float64) (float64, float64) {
	if len(v) == 0 {
		return 0, 0
	}
	var sum, sq float64
	for _, x := range v {
		sum += x
	}
	mean := sum / float64(len(v))
	for _, x := range v {
		sq += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sq / float64(len(v)))
}
