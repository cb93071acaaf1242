# The floor (issue 18): a build whose only work is to start from the base image our final
# image is built on and copy the code in. No image can be rebuilt faster after a code-only change.
# bench/images.py replaces the FROM line's name by copier.yml's runtime_image for the
# contender's base_image; it measures builds and sizes of this image, never runs it.
FROM runtime_image
COPY . /app
