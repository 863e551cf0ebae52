// Package captions turns word-timed transcripts into pages of caption text
// and writes them as ASS (burned in by ffmpeg's libass), SRT and WebVTT.
//
// Lines are broken by measuring the text with the same font file libass will
// pick, so the captions stay inside the social apps' safe area, and pages
// and lines break where a reader pauses (see breakCost).
package captions

import (
	"fmt"
	"image/color"
	"sort"
	"strings"
)

// Preset is a named caption look. Size is a fraction of the frame's shorter
// side: the width in portrait and square, the height in landscape. A phone
// shows a full-screen video with its shorter side across the phone's shorter
// side whichever way it is held, so the same fraction reads the same size in
// every aspect, and in portrait the width is what bounds a line.
type Preset struct {
	Name string

	// Font is the family name libass and fontconfig know the face by; Bold
	// picks the bold face of that family. Weights without their own bold flag
	// (semi-bold, black) are families of their own: "Inter Semi Bold".
	Font      string
	Bold      bool
	Size      float64 // font size (libass: the font's win ascent to descent)
	Uppercase bool

	Text      color.NRGBA // fill; the not-yet-sung text in karaoke
	Highlight color.NRGBA // the spoken word, or the sung text in karaoke; zero for none
	Karaoke   bool        // fill words with \kf as they are sung instead of recolouring

	// Outline and Shadow are fractions of the font size, so they keep their
	// weight whatever the size.
	Outline      float64     // outline width, or the box padding when Box is set
	OutlineColor color.NRGBA // outline, or the box when Box is set
	Shadow       float64     // shadow offset
	ShadowColor  color.NRGBA
	Box          bool // draw the text on a box (ASS BorderStyle 4)

	MaxWords int     // words per page
	Lower    float64 // 0 sits on the aspect's anchor line, 1 on the bottom edge of the safe area
}

// DefaultPreset is the preset an empty style name gives.
const DefaultPreset = "classic"

func rgb(r, g, b uint8) color.NRGBA { return color.NRGBA{r, g, b, 255} }

var (
	white  = rgb(255, 255, 255)
	black  = rgb(0, 0, 0)
	yellow = rgb(255, 229, 0)
	green  = rgb(0, 255, 127)
	// Shadows are translucent so they read as soft rather than as a second
	// outline.
	softShadow = color.NRGBA{0, 0, 0, 128}
	darkBox    = color.NRGBA{16, 16, 16, 217}
)

// The big styles are about a twentieth of a portrait frame's height (96 px
// at 1080x1920, a cap height near 58 px in Inter); bold, the creators'
// style of a few shouting words, has a cap height of 84 px (League Spartan's
// capitals are 0.443 of its font size); minimal stays smaller.
var presets = map[string]Preset{
	"classic": {
		Name: "classic", Font: "Inter Semi Bold", Size: 0.089,
		Text: white, Outline: 0.073, OutlineColor: black, Shadow: 0.048, ShadowColor: softShadow,
		MaxWords: 7,
	},
	"bold": {
		Name: "bold", Font: "League Spartan Black", Size: 0.175, Uppercase: true,
		Text: white, Highlight: yellow,
		Outline: 0.07, OutlineColor: black, Shadow: 0.047, ShadowColor: softShadow,
		MaxWords: 3,
	},
	"karaoke": {
		Name: "karaoke", Font: "Inter", Bold: true, Size: 0.092,
		Text: white, Highlight: green, Karaoke: true,
		Outline: 0.076, OutlineColor: black, Shadow: 0.045, ShadowColor: softShadow,
		MaxWords: 6,
	},
	"minimal": {
		Name: "minimal", Font: "Inter Medium", Size: 0.062,
		Text: white, Outline: 0.025, OutlineColor: color.NRGBA{0, 0, 0, 160},
		Shadow: 0.042, ShadowColor: color.NRGBA{0, 0, 0, 110},
		MaxWords: 8, Lower: 0.7,
	},
	"boxed": {
		Name: "boxed", Font: "Inter Semi Bold", Size: 0.083,
		Text: white, Outline: 0.32, OutlineColor: darkBox, Box: true,
		MaxWords: 6,
	},
}

// Names returns the names of every preset, sorted.
func Names() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the preset with the given name, ignoring case and
// surrounding space; "" gives the default.
func Lookup(name string) (Preset, error) {
	key := strings.ToLower(strings.TrimSpace(name))
	if key == "" {
		key = DefaultPreset
	}
	p, ok := presets[key]
	if !ok {
		return Preset{}, fmt.Errorf("unknown caption style %q; valid styles: %s", name, strings.Join(Names(), ", "))
	}
	return p, nil
}
