"""Classroom mode: one laptop serves a class on the local network (``pizarra serve --classroom``).

    room.py    the class: code, teacher token, students (nickname + cookie), switches, the game's table
    net.py     this machine's LAN addresses and the QR code students scan

Fair model time (one queue per model, round-robin between students, honest 429/503) is the model
runtime's: ``pizarra.llm.fair``. The web side is ``pizarra.web.classroom_gate`` (who may reach what)
and ``pizarra.web.routers.classroom`` (join, the teacher's dashboard and switches). ``ENV_FILE`` names
the ``classroom.json`` that ``pizarra serve --classroom`` writes and the app built by uvicorn reads.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_FILE = "PIZARRA_CLASSROOM"  # path of classroom.json; set: the lab runs in classroom mode
BUDGET_S = 8.0  # seconds of model time per request in a class (15 s alone): k students ahead ≈ k × 8 s


def from_env():
    """The class of ``$PIZARRA_CLASSROOM`` (its code and token reused), or None: not classroom mode."""
    value = os.environ.get(ENV_FILE, "").strip()
    if not value:
        return None
    from pizarra.classroom.room import Room

    return Room.load_or_create(Path(value))
