"""A stand-in for Google Colab's ``google.colab`` in a test kernel (PYTHONPATH=tests/fake_colab).

``drive.mount`` plays the user who grants Drive access: it makes ``$MORPHLIB_DRIVE/MyDrive``
(a scratch folder, never ``/content``) and notes each consent in ``$MORPHLIB_DRIVE/consents``.
``output.enable_custom_widget_manager`` does nothing (the test's front end has a widget
manager already). morphlib then takes the kernel for Colab's (``notebook.in_colab``).
"""

import os
import types


def _mount(mountpoint, force_remount=False):
    root = os.environ["MORPHLIB_DRIVE"]
    os.makedirs(os.path.join(root, "MyDrive"), exist_ok=True)
    with open(os.path.join(root, "consents"), "a") as f:
        f.write(f"{mountpoint}\n")


drive = types.SimpleNamespace(mount=_mount)
output = types.SimpleNamespace(enable_custom_widget_manager=lambda: None)
