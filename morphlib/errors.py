"""The package's exception hierarchy.

Every error morphlib raises on purpose derives from :class:`MorphlibError`, and its
message names the offending file or value and says what to do about it.
"""


class MorphlibError(Exception):
    """Base class of every error morphlib raises on purpose."""


class ParameterError(MorphlibError, ValueError):
    """An argument is out of range or of the wrong kind."""


class AudioFileError(MorphlibError):
    """One audio file cannot be used (unreadable, empty, silent, non-finite, ...)."""

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class LinkRefusedError(MorphlibError):
    """A write would have gone through a link in a folder morphlib writes into.

    A model folder, store or export folder made elsewhere (unpacked from a zip, synced)
    can hold a link that would send a write outside it; morphlib refuses and writes nothing.
    """

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path} {reason}: morphlib never writes through a link inside a folder it writes into; "
                         "remove the link (or copy the folder without links) and run again")


class DataFolderError(MorphlibError):
    """A data folder is missing, unreadable, or holds no usable audio."""


class UnknownSoundError(MorphlibError, KeyError):
    """A sound was asked for by a name or index that the loop set does not hold."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0])


class ModelFolderError(MorphlibError):
    """A model folder is missing, damaged, or was not written by morphlib."""


class FolderUnreachableError(ModelFolderError):
    """A model folder's file system cannot be reached (Colab's Drive mount dropped)."""


class SettingsMismatchError(MorphlibError):
    """Data analysed with other settings than the model was trained on."""


class ArchitectureError(ParameterError):
    """A model cannot be built for the requested shape."""


class StoreError(MorphlibError):
    """The on-disk analysis store cannot be written (a full disk) or changed while being read."""


class WidgetDeliveryError(MorphlibError, RuntimeError):
    """A widget message was sent where Google Colab would drop it: from a background thread,
    or while the kernel handled no front-end message (strict mode, ``morphlib.ui.panel.delivery``)."""
