package mnist

import "fmt"

// Square says how a Rows × Cols/2 half becomes the square image the ResNet stem and data.Split expect.
type Square string

const (
	// Pad keeps the half's pixels where they are in the Rows×Cols frame and sets the other half to 0: the
	// view is the image with the other device's half blanked. No pixel is resampled, and the zeros carry
	// nothing, so the view holds exactly the half's information (the default; 28×28, the cheapest square
	// that keeps every pixel).
	Pad Square = "pad"
	// Stretch repeats each of the half's columns twice (nearest-neighbour resize to Rows×Cols): every pixel
	// kept, the digit's aspect ratio doubled.
	Stretch Square = "stretch"
)

// ParseSquare checks a data.mnist.square value.
func ParseSquare(s string) (Square, error) {
	switch Square(s) {
	case Pad, Stretch:
		return Square(s), nil
	}
	return "", fmt.Errorf("square %q: want pad or stretch", s)
}

// Halves cuts every image into the Deep CCA views (Andrew et al., 2013): left holds columns [0, Cols/2),
// right columns [Cols/2, Cols), each made square by sq. Both come back as N×Rows×Rows uint8 (one channel,
// row-major), for image indices idx (nil: all).
func Halves(im *Images, idx []int, sq Square) (left, right []uint8, size int, err error) {
	if im.Rows != im.Cols || im.Cols%2 != 0 {
		return nil, nil, 0, fmt.Errorf("halves of %d×%d images: want square images of an even width", im.Rows, im.Cols)
	}
	if _, err := ParseSquare(string(sq)); err != nil {
		return nil, nil, 0, err
	}
	if idx == nil {
		idx = make([]int, im.N)
		for i := range idx {
			idx[i] = i
		}
	}
	h, w, half := im.Rows, im.Cols, im.Cols/2
	left, right = make([]uint8, len(idx)*h*w), make([]uint8, len(idx)*h*w)
	for k, i := range idx {
		if i < 0 || i >= im.N {
			return nil, nil, 0, fmt.Errorf("image index %d outside 0..%d", i, im.N-1)
		}
		src := im.Pix[i*h*w : (i+1)*h*w]
		l, r := left[k*h*w:(k+1)*h*w], right[k*h*w:(k+1)*h*w]
		for y := range h {
			row := src[y*w : (y+1)*w]
			switch sq {
			case Pad:
				copy(l[y*w:y*w+half], row[:half])
				copy(r[y*w+half:(y+1)*w], row[half:])
			case Stretch:
				for x := range w {
					l[y*w+x] = row[x/2]
					r[y*w+x] = row[half+x/2]
				}
			}
		}
	}
	return left, right, h, nil
}
