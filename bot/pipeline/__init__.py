"""The chat path as explicit, named stages, called in visible order by :class:`Chat`
(bot/pipeline/chat.py):

    identify + dedupe → consent gate → observe → assemble      (transaction 1)
    answer                                                      (no transaction open)
    record                                                      (transaction 2)

Why stages and not one method: each has one job and can be read, tested and replaced alone
(the observe stage is the single seam where a message teaches the profile). Why no hidden
``next()`` chain: the two-transaction rule — a slow model never holds database locks, and a
retried delivery is either fully processed once or not at all — must stay visible where the
stages are called.
"""
