"""Where Pizarra's data and pretrained models come from.

- ``pizarra.assets.datasets``: the data catalogue (what each set under ``PIZARRA_DATA`` should
  contain, a cheap and a deep check, and loaders that return plain Python / NumPy objects).
- ``pizarra.assets.download``: official downloads (IMDB) for users with internet, with checksum.

Nothing heavy is imported here: import the module you need.
"""
