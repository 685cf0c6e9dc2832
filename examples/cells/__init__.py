"""The cells of the example notebooks, one list per notebook: ("md" | "code" | "parameters",
source). examples/build.py writes and runs them; edit these files, not the .ipynb files."""

from cells.breakout import BREAKOUT
from cells.engines import ENGINES
from cells.folder import FOLDER
from cells.problems import PROBLEMS
from cells.sine import SINE

NOTEBOOKS = {
    "01-sine": SINE,
    "02-breakout": BREAKOUT,
    "03-three-engines": ENGINES,
    "04-common-problems": PROBLEMS,
    "05-your-images": FOLDER,
}
