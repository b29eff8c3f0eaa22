package models

// ResNet18Params counts the trainable parameters of NewResNet18 with in input channels and the given width
// (no fc) without building it: 11,176,512 at 3 channels and width 64.
func ResNet18Params(in, width int64) int64 {
	w := width
	n := in*w*49 + 2*w // conv1, bn1
	prev := w
	for stage, mult := range []int64{1, 2, 4, 8} {
		c := w * mult
		n += prev*c*9 + c*c*9 + 4*c // block 0: two 3×3 convs and their BNs
		if stage > 0 {
			n += prev*c + 2*c // its 1×1 downsample and BN
		}
		n += 2*c*c*9 + 4*c // block 1
		prev = c
	}
	return n
}

// ResNet18Activations estimates the floats a training forward pass of one image of size×size keeps for the
// backward pass: the input, the stem's conv/BN outputs and pooled map, and four tensors per basic block
// (two conv outputs and two BN outputs; ReLU and the residual add run in place), two more for a downsample.
func ResNet18Activations(in, width, size int64) int64 {
	down := func(a, k, s, p int64) int64 { return (a+2*p-k)/s + 1 }
	a := down(size, 7, 2, 3)
	n := in*size*size + 2*width*a*a
	a = down(a, 3, 2, 1)
	n += width * a * a
	for stage, mult := range []int64{1, 2, 4, 8} {
		c := width * mult
		if stage > 0 {
			a = down(a, 3, 2, 1)
			n += 2 * c * a * a
		}
		n += 2 * 4 * c * a * a
	}
	return n
}
