"""Handlers in a sub-folder of the function's folder: MOD_NAME=src/api/hello."""

import os
import shutil
import tempfile
import unittest

from harness import Worker, load_failure


class SubFolderTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        os.makedirs(os.path.join(self.dir, 'src', 'api'))
        with open(os.path.join(self.dir, 'src', 'api', 'hello.py'), 'w') as f:
            f.write('import helper\nimport top\n\ndef foo(event, context):\n    return helper.NAME + top.NAME\n')
        with open(os.path.join(self.dir, 'src', 'api', 'helper.py'), 'w') as f:
            f.write('NAME = "sibling+"\n')
        with open(os.path.join(self.dir, 'top.py'), 'w') as f:
            f.write('NAME = "top"\n')

    def test_loads_with_siblings_and_top_level_modules(self):
        with Worker('foo', mod='src/api/hello', volume=self.dir) as w:
            r = w.call()
            self.assertEqual((r.status, r.text), (200, 'sibling+top'), r)

    def test_paths_outside_the_folder_are_refused(self):
        for mod in ('../hello', 'src/../../hello', '/etc/hello', 'src//hello'):
            with self.subTest(mod=mod):
                typ, msg, code, _ = load_failure(mod, 'foo', volume=self.dir)
                self.assertEqual((typ, code), ('F', 1))
                self.assertIn('must be a path inside %s (no leading "/", no empty, "." or ".." parts)' % self.dir, msg)

    def test_missing_folder(self):
        typ, msg, code, _ = load_failure('nope/hello', 'foo', volume=self.dir)
        self.assertEqual(msg, 'cannot load function "nope/hello.foo": no folder %s for MOD_NAME %r' % (
            os.path.join(self.dir, 'nope'), 'nope/hello'))


if __name__ == '__main__':
    unittest.main()
