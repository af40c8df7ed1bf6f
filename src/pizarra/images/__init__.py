"""Chapter 10, "Generar imágenes": a tiny CLIP and a text-to-image latent diffusion model, trained here.

data         Fashion-MNIST + MNIST as 20 classes, captions in Spanish and English, the vocabulary
clip         TinyCLIP: image CNN + text Transformer into one space (contrastive)
autoencoder  pictures <-> 4×7×7 latents (Stable Diffusion's latent space, in miniature)
unet         the denoiser, conditioned on time and on the CLIP text embedding
diffusion    DDPM training, DDPM / DDIM sampling, classifier-free guidance
classifier   the judge of generated pictures; FID on its features
models       the shipped artifacts, loaded once
core         what the page and the CLI call: search, generate, steps, interpolate, arithmetic
train        `pizarra images train ...`;  evaluate: quality and retrieval reports
"""
