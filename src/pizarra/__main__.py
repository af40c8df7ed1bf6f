"""``python -m pizarra`` (and ``torchrun -m pizarra``) = the ``pizarra`` command."""

from pizarra.cli import main

if __name__ == "__main__":
    main()
