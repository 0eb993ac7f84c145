// Package image proves, without docker, what the Dockerfile's image would
// hold and that it works: it reads the Dockerfile, repeats its build steps
// (a static operator binary, the drivers, the --warm-cache run), assembles
// the final stage's root filesystem exactly as its COPY lines say, and starts
// the binary inside that root with chroot, as the image's user and with the
// arguments the Helm chart gives the pod. The docker build itself and the
// distroless base are not exercised here: `make image` needs docker.
package image
