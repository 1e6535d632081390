"""Load failures (docs/runtime-contract.md §1.1): one F frame naming the file, the handler and
the cause, then exit 1."""

import os
import unittest

from harness import FIXTURES, HERE, load_failure

TESTDATA = os.path.join(HERE, 'testdata')


class LoadFailureTest(unittest.TestCase):
    def assertFails(self, mod, handler, *want, **kw):
        typ, msg, code, w = load_failure(mod, handler, **kw)
        self.assertEqual((typ, code), ('F', 1), msg)
        self.assertNotIn('\n', msg)
        self.assertTrue(msg.startswith('cannot load function "%s.%s": ' % (mod, handler)), msg)
        for part in want:
            self.assertIn(part, msg)
        return msg, w

    def test_missing_file(self):
        self.assertFails('nosuchmodule', 'hello', 'no file nosuchmodule.py', FIXTURES, 'found fixtures.py, syntaxerror.py')

    def test_syntax_error_names_file_and_line(self):
        self.assertFails('syntaxerror', 'hello', os.path.join(FIXTURES, 'syntaxerror.py') + ':4: SyntaxError: ')

    def test_syntax_error_in_an_imported_helper(self):
        self.assertFails('helperbroken', 'handler', os.path.join(TESTDATA, 'brokenhelper.py') + ':2: SyntaxError',
                         volume=TESTDATA)

    def test_missing_dependency(self):
        msg, w = self.assertFails('badimport', 'handler',
                                  os.path.join(TESTDATA, 'badimport.py') + ":3: ModuleNotFoundError: No module named 'no_such_dependency_xyz'",
                                  'requirements.txt', volume=TESTDATA)

    def test_exception_at_import_time(self):
        msg, w = self.assertFails('raiseatload', 'handler',
                                  os.path.join(TESTDATA, 'raiseatload.py') + ':2: RuntimeError: cannot prepare the model',
                                  volume=TESTDATA)
        err = w.stderr()
        self.assertIn('MODEL = prepare()', err)  # the user's traceback, without importlib frames
        self.assertNotIn('<frozen', err)

    def test_no_such_function_lists_the_functions_found(self):
        self.assertFails('fixtures', 'nope', "has no function 'nope'",
                         'found: busy, context, echo, event, hello, large, printsleep, sleep, status, throw, unicode')

    def test_not_a_function(self):
        self.assertFails('funcs', 'CONSTANT', 'funcs.CONSTANT', 'is a int, not a function', volume=TESTDATA)

    def test_handler_needing_more_arguments(self):
        self.assertFails('funcs', 'threeargs', 'takes 3 arguments', volume=TESTDATA)

    def test_module_names_of_the_runtime_are_refused(self):
        self.assertFails('kubeless', 'hello', "MOD_NAME 'kubeless' is the name of the runtime's own module")
        self.assertFails('json', 'hello', "MOD_NAME 'json' collides with the module json", 'rename json.py')

    def test_bad_environment(self):
        self.assertFails('hello.py', 'hello', 'use MOD_NAME=hello')
        self.assertFails('', 'hello', 'MOD_NAME is not set')
        self.assertFails('fixtures', '', 'FUNC_HANDLER is not set')
        self.assertFails('fixtures', 'hello', "FUNC_TIMEOUT='soon' is not a number", env={'FUNC_TIMEOUT': 'soon'})


if __name__ == '__main__':
    unittest.main()
