"""journeysim: simulate patient journeys through clinical microsystems and measure system quality."""
__version__ = "0.1.0"
