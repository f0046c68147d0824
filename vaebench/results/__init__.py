"""Everything vaebench keeps on disk, owned here and nowhere else.

``layout`` names every file and folder of a results dir and the rule of cell names; ``files`` writes
atomically, stages and swaps folders and reads only regular files; ``records`` checks what each results file
holds; ``lock`` lets one writing command at a time into a results dir; ``transfer`` moves cells as bytes to
and from workers without a shared file system; ``experiments`` is the Python API's read view.
"""
