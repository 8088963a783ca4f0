"""Console themes (Theme objects) and the TCSS that uses their variables."""

from pathlib import Path

STYLESHEET = Path(__file__).with_name("rac.tcss")
