"""What the display tests share: the screenshot's pixel check (lib/display_png_check.py, which
the bash tests still run too)."""
import subprocess

from framework import paths

PNG_CHECK = paths.SOURCE_DIR / "tests" / "integration" / "lib" / "display_png_check.py"


def expect_picture(shot, width, height, run=None):
    """The PNG SHOT is virtio_gpu.c's picture at WIDTH x HEIGHT, pixel for pixel."""
    check = subprocess.run(["python3", str(PNG_CHECK), str(shot), str(width), str(height)],
                           capture_output=True, text=True)
    assert check.returncode == 0, \
        f"screenshot {shot} differs: {check.stdout}{check.stderr}\n{run.tail() if run else ''}"
