"""How a command ends: gankit's own warnings. (Errors, exit codes and Ctrl-C are tested
through the whole command in test_cli.py.)"""


def test_gankits_own_warnings_print_as_one_line_other_packages_keep_pythons(capsys):
    from gankit import cli_exit
    from gankit.data import images

    cli_exit._show_warning(
        UserWarning("skipped 1 of 4 files [a.png]"), UserWarning, images.__file__, 9
    )
    assert capsys.readouterr().err == "warning: skipped 1 of 4 files [a.png]\n"
    cli_exit._show_warning(
        UserWarning("from elsewhere"), UserWarning, "/opt/pkg/mod.py", 3, line=""
    )
    assert "/opt/pkg/mod.py:3: UserWarning: from elsewhere" in capsys.readouterr().err
