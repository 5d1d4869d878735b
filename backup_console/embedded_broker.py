"""The embedded broker: kombu's filesystem transport with atomic writes.

kombu's own ``_put`` creates the message file and only then writes into it,
so a worker polling the folder can move and read the file while it is still
empty and die on the JSON decode ("Expecting value: line 1 column 1") — seen
under `make run` when the console and the workers publish fast.  Here the
message is written under a name the reader ignores and renamed into place,
which is atomic on one filesystem: a reader sees a whole message or none.
"""

import os
import uuid
from time import monotonic

from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # "<...>.<queue>.msg.part" does not match the reader's "<queue>.msg".
        partial = f"{final}.part"
        with open(partial, "wb") as f:
            f.write(str_to_bytes(dumps(payload)))
        os.replace(partial, final)


class Transport(filesystem.Transport):
    Channel = Channel
