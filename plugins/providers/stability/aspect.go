package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxSide bounds parsed dimensions so ratios stay finite and meaningful.
const maxSide = 1 << 20

// ratio is a width:height pair.
type ratio struct {
	name string
	w, h int
}

// aspectRatios are the ratios the v2beta generate endpoints accept, from
// widest to tallest.
func aspectRatios() [9]ratio {
	return [...]ratio{
		{"21:9", 21, 9}, {"16:9", 16, 9}, {"3:2", 3, 2}, {"5:4", 5, 4}, {"1:1", 1, 1},
		{"4:5", 4, 5}, {"2:3", 2, 3}, {"9:16", 9, 16}, {"9:21", 9, 21},
	}
}

// sdxlDimensions are the sizes the SDXL 1.0 v1 engine accepts.
func sdxlDimensions() [9]ratio {
	return [...]ratio{
		{"1536x640", 1536, 640}, {"1344x768", 1344, 768}, {"1216x832", 1216, 832},
		{"1152x896", 1152, 896}, {"1024x1024", 1024, 1024}, {"896x1152", 896, 1152},
		{"832x1216", 832, 1216}, {"768x1344", 768, 1344}, {"640x1536", 640, 1536},
	}
}

// aspectRatio translates ImageRequest.Size into a v2beta aspect_ratio.
// "" stays "" (the vendor's default, 1:1). "WxH" maps to the nearest
// supported ratio; "W:H" passes through when supported and otherwise maps
// to the nearest too, so that a near miss such as 4:3 still succeeds.
func aspectRatio(size string) (string, error) {
	w, h, err := parseSize(size)
	if err != nil || w == 0 {
		return "", err
	}
	table := aspectRatios()
	return nearest(table[:], w, h).name, nil
}

// sdxlSize translates ImageRequest.Size into SDXL's width and height:
// an exact supported size is kept, anything else becomes the supported
// size of the nearest shape. "" is 1024x1024.
func sdxlSize(size string) (width, height int, err error) {
	w, h, err := parseSize(size)
	if err != nil {
		return 0, 0, err
	}
	if w == 0 {
		w, h = 1, 1
	}
	table := sdxlDimensions()
	r := nearest(table[:], w, h)
	return r.w, r.h, nil
}

// parseSize reads "WxH" (also "W×H", "W*H") or "W:H"; "" yields 0, 0.
func parseSize(size string) (w, h int, err error) {
	s := strings.TrimSpace(size)
	if s == "" {
		return 0, 0, nil
	}
	a, b, ok := "", "", false
	for _, sep := range []string{"x", "X", "×", "*", ":"} {
		if a, b, ok = strings.Cut(s, sep); ok {
			break
		}
	}
	if ok {
		w, err1 := strconv.Atoi(strings.TrimSpace(a))
		h, err2 := strconv.Atoi(strings.TrimSpace(b))
		if err1 == nil && err2 == nil && w > 0 && h > 0 && w <= maxSide && h <= maxSide {
			return w, h, nil
		}
	}
	return 0, 0, fmt.Errorf("size %q is neither WIDTHxHEIGHT nor an aspect ratio such as 16:9", size)
}

// nearest returns the entry of table whose shape is closest to w:h,
// comparing log ratios so that 2:1 and 1:2 are equally far from 1:1. An
// exact match always wins; ties go to the earlier entry.
func nearest(table []ratio, w, h int) ratio {
	target := math.Log(float64(w) / float64(h))
	best, bestDist := table[0], math.Inf(1)
	for _, r := range table {
		if r.w*h == r.h*w {
			return r
		}
		d := math.Abs(math.Log(float64(r.w)/float64(r.h)) - target)
		if d < bestDist {
			best, bestDist = r, d
		}
	}
	return best
}
