#!/usr/bin/env bash
# Gather a labelled set of real photographs from Debian packages, for
# `adpipe train --photos DEST`.
#
# Usage: scripts/gather-labelled-photos.sh DEST
#   Writes DEST/<category>/<name>.jpg and DEST/MANIFEST.tsv (columns as in
#   shared/photos/MANIFEST.tsv).  Categories: car truck bus aircraft tool none (none of boat, bicycle,
#   motorcycle or train could be found outside the held-out shared set).
# Optional environment:
#   MAX_SIDE=512   longer side after downscaling (never upscaled)
#   QUALITY=90     JPEG quality
#   MANIFEST=MANIFEST.tsv   name of the manifest written in DEST
#   ONLY=FILE      keep only the photos listed in FILE, one "category/name [new_category]"
#                  a line; ONLY=fixture picks the built-in list below.
# The committed test fixture was made with
#   MAX_SIDE=256 QUALITY=85 MANIFEST=LICENSES.tsv ONLY=fixture \
#     scripts/gather-labelled-photos.sh tests/fixtures/labelled
#
# Every package is fetched by name at a pinned version with apt-get download and
# checked against the sha256 below before anything is extracted.  The photos were
# chosen by looking at each one; see the notes column of the manifest.
set -euo pipefail

DEST=${1:?usage: $0 DEST}
MAX_SIDE=${MAX_SIDE:-512}
QUALITY=${QUALITY:-90}
MANIFEST=${MANIFEST:-MANIFEST.tsv}
ONLY=${ONLY:-}
# tests/fixtures/labelled: 8 photos each of vehicle (cars, trucks, an airliner,
# a bus), tool and none
FIXTURE_LIST='
car/vw_beetle vehicle
car/convertible_sportscar vehicle
car/blue_sedan vehicle
car/indycar vehicle
truck/pickup_truck vehicle
truck/garbage_truck vehicle
aircraft/boeing_747 vehicle
bus/double_decker_london vehicle
tool/hammer1
tool/hammer5
tool/plier1
tool/scissors1
tool/screw_driver1
tool/wrench
tool/measuring_tape1
tool/multimeter2
none/dog
none/cat
none/cow
none/chair
none/cup
none/eiffel_tower
none/colosseum
none/aitzgorri_mountains
'
if [ "$ONLY" != fixture ] && [ -n "$ONLY" ]; then ONLY=$(realpath "$ONLY"); fi

# name version sha256 (Debian bookworm .deb)
PACKAGES='
gcompris-qt-data 3.1-2 e9cf06ab2105529068df73085784e835d2ff03f870d2a8091f09125d40abac9f
tuxpaint-stamps-default 2022.06.04-1 6db6c1bfc870a47f1499d6203b083522eacb57c5f9c87d468f2e92eb6d9d5f34
opencv-doc 4.6.0+dfsg-12 4b12681df35878207ac7097dc66184b2ae552e4bf4ddd2af04a0f03ed0b8682a
lomiri-wallpapers-16.04 20.04.0-2 a99ff6a3bfe451e4cc0682ecb3cc82e71740626d59e4845ae34a0a0e45421eab
'

if ! python3 -c 'import PIL.Image, PIL.WebPImagePlugin' 2>/dev/null; then
    pip install --quiet pillow
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/debs" "$WORK/x"
if [ "$ONLY" = fixture ]; then echo "$FIXTURE_LIST" > "$WORK/only.txt"; ONLY=$WORK/only.txt; fi
chmod 755 "$WORK"; chmod 777 "$WORK/debs"   # apt-get download runs as _apt where it can

echo "$PACKAGES" | while read -r name version sha; do
    [ -n "$name" ] || continue
    (cd "$WORK/debs" && apt-get download -q "$name=$version" >/dev/null)
    deb=$(ls "$WORK/debs/${name}_"*.deb)
    echo "$sha  $deb" | sha256sum -c --quiet - || { echo "sha256 mismatch: $deb" >&2; exit 1; }
    mkdir -p "$WORK/x/$name"
    dpkg-deb -x "$deb" "$WORK/x/$name"
    echo "ok: $name $version"
done

# category  name  package  path_in_package (rcc!inner for Qt resources)  license  shows  notes
cat > "$WORK/items.tsv" <<'ITEMS'
car	vw_beetle	tuxpaint-stamps-default	usr/share/tuxpaint/stamps/vehicles/auto/beetle.png	GPL-2 (debian/copyright, Files: *)	red Volkswagen Beetle, side view	photo cut-out (RGBA) flattened onto white: no background scene
car	convertible_sportscar	tuxpaint-stamps-default	usr/share/tuxpaint/stamps/vehicles/auto/sportscar2.png	GPL-2 (debian/copyright, Files: *)	red convertible sports car, side view	photo cut-out (RGBA) flattened onto white: no background scene
car	blue_sedan	tuxpaint-stamps-default	usr/share/tuxpaint/stamps/vehicles/auto/sedan.png	GPL-2 (debian/copyright, Files: *)	blue four-door sedan, side view	photo cut-out (RGBA) flattened onto white: no background scene
car	indycar	tuxpaint-stamps-default	usr/share/tuxpaint/stamps/vehicles/race/indycar.png	GPL-2 (debian/copyright, Files: *)	open-wheel race car (IndyCar), side view	photo cut-out (RGBA) flattened onto white; a race car, not a road car
truck	pickup_truck	tuxpaint-stamps-default	usr/share/tuxpaint/stamps/vehicles/auto/truck.png	GPL-2 (debian/copyright, Files: *)	teal pickup truck, side view	photo cut-out (RGBA) flattened onto white: no background scene
truck	garbage_truck	tuxpaint-stamps-default	usr/share/tuxpaint/stamps/vehicles/garbagetruck.png	GPL-2 (debian/copyright, Files: *)	white refuse-collection truck, side view	photo cut-out (RGBA) flattened onto white: no background scene
aircraft	boeing_747	tuxpaint-stamps-default	usr/share/tuxpaint/stamps/vehicles/flight/planes/747.png	GPL-2 (debian/copyright, Files: *)	Boeing 747 (Air Force One livery) in flight, side view	photo cut-out (RGBA) flattened onto white: no sky
aircraft	f22_raptor	tuxpaint-stamps-default	usr/share/tuxpaint/stamps/military/vehicles/f22_raptor.png	GPL-2 (debian/copyright, Files: *)	F-22 Raptor fighter jet seen from above/front	photo cut-out (RGBA) flattened onto white; military aircraft
bus	double_decker_london	opencv-doc	usr/share/doc/opencv-doc/opencv4/html/pexels_double_decker_bus.jpg	Apache-2.0 AND BSD-3-Clause (debian/copyright, Files: *)	red London double-decker bus in the street, buildings behind	file name credits Pexels; only real full-scene vehicle photo found
none	aitzgorri_mountains	lomiri-wallpapers-16.04	usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg	CC-BY-4.0 (debian/copyright; Aitzol Berasategi, 2018)	autumn mountain landscape with meadow	
none	dogs_at_window	lomiri-wallpapers-16.04	usr/share/backgrounds/friends_by_Aitzol_Berasategi.jpg	CC-BY-4.0 (debian/copyright; Aitzol Berasategi, 2018)	two brown dogs looking out of a wooden doorway	portrait orientation
none	forest_stream	lomiri-wallpapers-16.04	usr/share/backgrounds/life_by_Aitzol_Berasategi.jpg	CC-BY-4.0 (debian/copyright; Aitzol Berasategi, 2018)	mountain stream among rocks and trees	
none	picos_de_europa	lomiri-wallpapers-16.04	usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg	CC-BY-4.0 (debian/copyright; Aitzol Berasategi, 2018)	path through green valley below rocky mountains	
none	mountain_sunset	lomiri-wallpapers-16.04	usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg	CC-BY-4.0 (debian/copyright; Aitzol Berasategi, 2018)	sun setting over mountain ridge	
none	paint_brushes	lomiri-wallpapers-16.04	usr/share/backgrounds/Picture_1A_by_freespace.jpg	CC-BY-4.0 (debian/copyright; freespace)	paint brushes with coloured bristles, close-up	
tool	cutting_tool	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/cuttingTool.webp	Public Domain (per-file README in the .rcc, author: Baran Ivo); package GPL-3+	cutting tool (hand tool)	Wikimedia Commons File:Cutting_tool_1.jpg
tool	hammer1	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/hammer1.webp	CC0-1.0 (per-file README in the .rcc, author: Marina Shemesh); package GPL-3+	hammer (hand tool)	
tool	hammer2	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/hammer2.webp	CC0-1.0 (per-file README in the .rcc, author: Junior Libby); package GPL-3+	hammer (hand tool)	
tool	hammer3	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/hammer3.webp	CC0-1.0 (per-file README in the .rcc, author: Video Girl); package GPL-3+	hammer (hand tool)	
tool	hammer4	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/hammer4.webp	CC0-1.0 (per-file README in the .rcc, author: Kevin Phillips); package GPL-3+	hammer (hand tool)	
tool	hammer5	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/hammer5.webp	Public Domain (per-file README in the .rcc, author: Evan-Amos); package GPL-3+	hammer (hand tool)	Wikimedia Commons File:Claw-hammer.jpg
tool	hammer6	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/hammer6.webp	Public Domain (per-file README in the .rcc, author: Bukk); package GPL-3+	hammer (hand tool)	Wikimedia Commons File:Hammer_r%C3%BCckschlagfrei.jpg
tool	hammer7	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/hammer7.webp	CC0-1.0 (per-file README in the .rcc, author: Metropolitan Museum of Art); package GPL-3+	hammer (hand tool)	Wikimedia Commons File:Armorer%27s_Hammer_MET_12.230.2_001feb2014.jpg
tool	hammer8	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/hammer8.webp	CC0-1.0 (per-file README in the .rcc, author: George Hodan); package GPL-3+	hammer (hand tool)	
tool	hammer9	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/hammer9.webp	CC0-1.0 (per-file README in the .rcc, author: George Hodan); package GPL-3+	hammer (hand tool)	
tool	measuring_tape1	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/measuringTape1.webp	Public Domain (per-file README in the .rcc, author: Evan-Amos); package GPL-3+	measuring tape (hand tool)	Wikimedia Commons File:Measuring-tape.jpg
tool	measuring_tape2	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/measuringTape2.webp	CC0-1.0 (per-file README in the .rcc, author: W.carter); package GPL-3+	measuring tape (hand tool)	Wikimedia Commons File:Retractable_twenty_meter_tape_measure_1.jpg
tool	measuring_tape3	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/measuringTape3.webp	CC0-1.0 (per-file README in the .rcc, author: George Hodan); package GPL-3+	measuring tape (hand tool)	
tool	measuring_tape4	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/measuringTape4.webp	CC0-1.0 (per-file README in the .rcc, author: George Hodan); package GPL-3+	measuring tape (hand tool)	
tool	measuring_tape5	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/measuringTape5.webp	CC0-1.0 (per-file README in the .rcc, author: Junior Libby); package GPL-3+	measuring tape (hand tool)	
tool	measuring_tape6	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/measuringTape6.webp	Public Domain (per-file README in the .rcc, author: Contributor); package GPL-3+	measuring tape (hand tool)	Wikimedia Commons File:Massband.jpg
tool	multimeter1	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/multimeter1.webp	Public Domain (per-file README in the .rcc, author: Neo139); package GPL-3+	multimeter (hand tool)	Wikimedia Commons File:Multimeter_ut33c.JPG
tool	multimeter2	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/multimeter2.webp	Public Domain (per-file README in the .rcc, author: Bougainville); package GPL-3+	multimeter (hand tool)	Wikimedia Commons File:MultimeterShortTimeDuty.jpg
tool	multimeter3	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/multimeter3.webp	Public Domain (per-file README in the .rcc, author: Neo139); package GPL-3+	multimeter (hand tool)	Wikimedia Commons File:Multimeter_gtm2012.jpeg
tool	plier1	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/plier1.webp	Public Domain (per-file README in the .rcc, author: Baran Ivo); package GPL-3+	plier (hand tool)	Wikimedia Commons File:Plier01.jpg
tool	plier2	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/plier2.webp	Public Domain (per-file README in the .rcc, author: Alex Myasnikov); package GPL-3+	plier (hand tool)	Wikimedia Commons File:Ostrogubetz.jpg
tool	plier3	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/plier3.webp	Public Domain (per-file README in the .rcc, author: Baran Ivo); package GPL-3+	plier (hand tool)	Wikimedia Commons File:Plier02.jpg
tool	plier4	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/plier4.webp	CC0-1.0 (per-file README in the .rcc, author: VladimirZhV); package GPL-3+	plier (hand tool)	Wikimedia Commons File:Ploskogubcy_Pliers.JPG
tool	scissors1	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/scissors1.webp	Public Domain (per-file README in the .rcc, author: Evan-Amos); package GPL-3+	scissors (hand tool)	Wikimedia Commons File:Fiskars-scissors.jpg
tool	scissors2	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/scissors2.webp	Public Domain (per-file README in the .rcc, author: Julo); package GPL-3+	scissors (hand tool)	Wikimedia Commons File:Nozyce_stajenne-do_strzyzenia_grzyw_konskich.jpg
tool	scissors3	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/scissors3.webp	CC0-1.0 (per-file README in the .rcc, author: Saltanat ebli); package GPL-3+	scissors (hand tool)	Wikimedia Commons File:Surgical_scissors_05.JPG
tool	scissors4	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/scissors4.webp	Public Domain (per-file README in the .rcc, author: Comet27); package GPL-3+	scissors (hand tool)	Wikimedia Commons File:Skalm_2.JPG
tool	screw_driver1	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/screwDriver1.webp	Public Domain (per-file README in the .rcc, author: Leon Brooks); package GPL-3+	screw driver (hand tool)	Wikimedia Commons File:Philips_plus_or_cross_screwdriver_on_table.jpg
tool	screw_driver2	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/screwDriver2.webp	CC0-1.0 (per-file README in the .rcc, author: hystiff); package GPL-3+	screw driver (hand tool)	Wikimedia Commons File:Screwdriver_Phillips.jpg
tool	screw_driver3	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/screwDriver3.webp	Public Domain (per-file README in the .rcc, author: Dezertscorpion); package GPL-3+	screw driver (hand tool)	Wikimedia Commons File:Torque-screw-driver.jpg
tool	sickle	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/sickle.webp	Public Domain (per-file README in the .rcc, author: sogning); package GPL-3+	sickle (hand tool)	Wikimedia Commons File:Sickle_sigd.jpg
tool	side_cutter1	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/sideCutter1.webp	Public Domain (per-file README in the .rcc, author: M338); package GPL-3+	side cutter (hand tool)	Wikimedia Commons File:Carbon_steel_diagonal_side_cutters.jpg
tool	tweezer	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/tweezer.webp	CC0-1.0 (per-file README in the .rcc, author: Yapparina); package GPL-3+	tweezer (hand tool)	Wikimedia Commons File:Tweezers_made_of_martensitic_stainless_steel_JIS_SUS410.jpg
tool	tweezer1	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/tweezer1.webp	Public Domain (per-file README in the .rcc, author: Evan-Amos); package GPL-3+	tweezer (hand tool)	Wikimedia Commons File:Tweezers-variety.jpg
tool	wrench	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/wrench.webp	CC0-1.0 (per-file README in the .rcc, author: Raysonho); package GPL-3+	wrench (hand tool)	Wikimedia Commons File:AdjustableWrenchWhiteBackground.jpg
tool	wrench1	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/tools/wrench1.webp	Public Domain (per-file README in the .rcc, author: M338); package GPL-3+	wrench (hand tool)	Wikimedia Commons File:Adjustable_Angle_Wrenches.jpg
none	bison	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_world_animals.rcc!/gcompris/src/activities/explore_world_animals/resource/animals/bison.webp	CC0-1.0 (per-file README in the .rcc, author: Kurt Kaiser); package GPL-3+	bison (animal)	Wikimedia Commons File:American_Bison_9.jpg
none	chameleon	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_world_animals.rcc!/gcompris/src/activities/explore_world_animals/resource/animals/chameleon.webp	Public Domain (per-file README in the .rcc, author: Nilesh1104); package GPL-3+	chameleon (animal)	Wikimedia Commons File:GARDEN_CHAMELEON.jpeg
none	crocodile	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_world_animals.rcc!/gcompris/src/activities/explore_world_animals/resource/animals/crocodile.webp	Public Domain (per-file README in the .rcc, author: Djambalawa); package GPL-3+	crocodile (animal)	Wikimedia Commons File:Saltwater_Crocodile_on_a_river_bank_(cropped).jpg
none	dragon	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_world_animals.rcc!/gcompris/src/activities/explore_world_animals/resource/animals/dragon.webp	Public Domain (per-file README in the .rcc, author: TimVickers); package GPL-3+	dragon (animal)	Wikimedia Commons File:Varanus_komodoensis_(5).jpg
none	giraffe	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_world_animals.rcc!/gcompris/src/activities/explore_world_animals/resource/animals/giraffe.webp	CC0-1.0 (per-file README in the .rcc, author: Mike and Lara Wolfe); package GPL-3+	giraffe (animal)	Wikimedia Commons File:Giraffe_courtship_(25657342808).jpg
none	hedgehog	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_world_animals.rcc!/gcompris/src/activities/explore_world_animals/resource/animals/hedgehog.webp	Public Domain (per-file README in the .rcc, author: George Chernilevsky); package GPL-3+	hedgehog (animal)	Wikimedia Commons File:Erinaceus_roumanicus_2020_G2.jpg
none	jaguar	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_world_animals.rcc!/gcompris/src/activities/explore_world_animals/resource/animals/jaguar.webp	CC0-1.0 (per-file README in the .rcc, author: Frieda Bredesen); package GPL-3+	jaguar (animal)	Wikimedia Commons File:Two_Jaguar_Sisters.jpg
none	kangaroo	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_world_animals.rcc!/gcompris/src/activities/explore_world_animals/resource/animals/kangaroo.webp	Public Domain (per-file README in the .rcc, author: Vicki Nunn); package GPL-3+	kangaroo (animal)	Wikimedia Commons File:Eastern_Grey_Kangaroo_%26_Joey2.jpg
none	koala	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_world_animals.rcc!/gcompris/src/activities/explore_world_animals/resource/animals/koala.webp	Public Domain (per-file README in the .rcc, author: BurningWell); package GPL-3+	koala (animal)	Wikimedia Commons File:Koala_Perth_Zoo.jpg
none	lemur	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_world_animals.rcc!/gcompris/src/activities/explore_world_animals/resource/animals/lemur.webp	CC0-1.0 (per-file README in the .rcc, author: Mathias Appel); package GPL-3+	lemur (animal)	Wikimedia Commons File:Lemur_(37122852696).jpg
none	moose	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_world_animals.rcc!/gcompris/src/activities/explore_world_animals/resource/animals/moose.webp	Public Domain (per-file README in the .rcc, author: Ryan Hagerty); package GPL-3+	moose (animal)	Wikimedia Commons File:Male_Moose.jpg
none	narwhal	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_world_animals.rcc!/gcompris/src/activities/explore_world_animals/resource/animals/narwhal.webp	Public Domain (per-file README in the .rcc, author: Dr Kristin Laidre); package GPL-3+	narwhal (animal)	Wikimedia Commons File:Pod_Monodon_monoceros.jpg
none	panda	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_world_animals.rcc!/gcompris/src/activities/explore_world_animals/resource/animals/panda.webp	Public Domain (per-file README in the .rcc, author: Jeff Kubina); package GPL-3+	panda (animal)	Wikimedia Commons File:Giant_Panda_2004-03-2.jpg
none	polar_bear	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_world_animals.rcc!/gcompris/src/activities/explore_world_animals/resource/animals/polar_bear.webp	Public Domain (per-file README in the .rcc, author: anonymous); package GPL-3+	polar bear (animal)	Wikimedia Commons File:Churchill_Wildlife_Management_Area_polar_bear30.JPG
none	scarlet_macaw	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_world_animals.rcc!/gcompris/src/activities/explore_world_animals/resource/animals/scarlet_macaw.webp	CC0-1.0 (per-file README in the .rcc, author: Dcoetzee); package GPL-3+	scarlet macaw (animal)	Wikimedia Commons File:Scarlet_macaw_at_Cougar_Mountain_Zoological_Park.jpg
none	baseball	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/others/baseball.webp	Public Domain (per-file README in the .rcc, author: Cody escadron delta); package GPL-3+	baseball (household object)	Wikimedia Commons File:Baseball_ball.jpg
none	blackslate	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/others/blackslate.webp	CC0-1.0 (per-file README in the .rcc, author: Andrzej 22); package GPL-3+	blackslate (household object)	Wikimedia Commons File:Black(green)board.jpg
none	bucket	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/others/bucket.webp	CC0-1.0 (per-file README in the .rcc, author: Daderot); package GPL-3+	bucket (household object)	Wikimedia Commons File:Milk_pail,_America,_1800s,_pine,_ash_-_Concord_Museum_-_Concord,_MA_-_DSC05807.JPG
none	buffetset	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/others/buffetset.webp	CC0-1.0 (per-file README in the .rcc, author: Rijksmuseum); package GPL-3+	buffetset (household object)	Wikimedia Commons File:Kop_en_schotel_beschilderd_met_vlinders_en_libellen,_BK-15423-J.jpg
none	bulb	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/others/bulb.webp	CC0-1.0 (per-file README in the .rcc, author: Vitaium); package GPL-3+	bulb (household object)	Wikimedia Commons File:Philips_LED_bulb.jpg
none	chair	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/others/chair.webp	Public Domain (per-file README in the .rcc, author: Pierre Gencey); package GPL-3+	chair (household object)	Wikimedia Commons File:Gabriel_00.jpg
none	cup	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/others/cup.webp	Public Domain (per-file README in the .rcc, author: FA2010); package GPL-3+	cup (household object)	Wikimedia Commons File:Fermanagh_cup_makffm_13817.jpg
none	igloo	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/others/igloo.webp	CC0-1.0 (per-file README in the .rcc, author: Estormiz); package GPL-3+	igloo (household object)	Wikimedia Commons File:Igloo_Cafe_Oulu_20180330_02.jpg
none	knife	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/others/knife.webp	Public Domain (per-file README in the .rcc, author: Perblo); package GPL-3+	knife (household object)	Wikimedia Commons File:Folke_Arstrom_Facette.jpg
none	pan	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/others/pan.webp	Public Domain (per-file README in the .rcc, author: Suricata); package GPL-3+	pan (household object)	Wikimedia Commons File:Pfanne_(Gusseisen).jpg
none	pencil	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/others/pencil.webp	Public Domain (per-file README in the .rcc, author: Charm); package GPL-3+	pencil (household object)	Wikimedia Commons File:Pencil-db.jpg
none	pillow	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/others/pillow.webp	CC0-1.0 (per-file README in the .rcc, author: Choe Kwangmo); package GPL-3+	pillow (household object)	Wikimedia Commons File:2014-04-22_IMG_7242_%EC%B5%9C%EA%B4%91%EB%AA%A8.JPG
none	plate	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/others/plate.webp	CC0-1.0 (per-file README in the .rcc, author: Metropolitan Museum of Art); package GPL-3+	plate (household object)	Wikimedia Commons File:MET_DP324688.jpg
none	spoons	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/others/spoons.webp	Public Domain (per-file README in the .rcc, author: Wolfgangus Mozart); package GPL-3+	spoons (household object)	Wikimedia Commons File:Spoons.jpg
none	volleyball	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/others/volleyball.webp	Public Domain (per-file README in the .rcc, author: Amada44); package GPL-3+	volleyball (household object)	Wikimedia Commons File:Beach_volleyball_ball.png
none	weighing_machine	gcompris-qt-data	usr/share/gcompris-qt/rcc/categorization.rcc!/gcompris/src/activities/categorization/resource/images/others/weighingMachine.webp	Public Domain (per-file README in the .rcc, author: Karelj); package GPL-3+	weighing machine (household object)	Wikimedia Commons File:Balance_Scaltec.jpg
none	cat	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_farm_animals.rcc!/gcompris/src/activities/explore_farm_animals/resource/animals/cat.webp	Public Domain (per-file README in the .rcc, author: Loliloli); package GPL-3+	cat (animal)	Wikimedia Commons File:Spielendes_K%C3%A4tzchen.JPG
none	chicken	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_farm_animals.rcc!/gcompris/src/activities/explore_farm_animals/resource/animals/chicken.webp	Public Domain (per-file README in the .rcc, author: Tranquilles); package GPL-3+	chicken (animal)	Wikimedia Commons File:Chickens_at_Tranquilles_B%26B.JPG
none	cow	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_farm_animals.rcc!/gcompris/src/activities/explore_farm_animals/resource/animals/cow.webp	Public Domain (per-file README in the .rcc, author: Dohduhdah); package GPL-3+	cow (animal)	Wikimedia Commons File:Cow-IMG_2050.JPG
none	dog	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_farm_animals.rcc!/gcompris/src/activities/explore_farm_animals/resource/animals/dog.webp	Public Domain (per-file README in the .rcc, author: Hans Kemperman); package GPL-3+	dog (animal)	Wikimedia Commons File:German-shepherd-4040871920._(2).jpg
none	duck	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_farm_animals.rcc!/gcompris/src/activities/explore_farm_animals/resource/animals/duck.webp	CC0-1.0 (per-file README in the .rcc, author: Bernard Spragg); package GPL-3+	duck (animal)	Wikimedia Commons File:Aylesbury_Duck._(9373723157).jpg
none	horse	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_farm_animals.rcc!/gcompris/src/activities/explore_farm_animals/resource/animals/horse.webp	CC0-1.0 (per-file README in the .rcc, author: Seth Zeigler); package GPL-3+	horse (animal)	Wikimedia Commons File:Nokota_Horse_Stud_Band.jpg
none	owl	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_farm_animals.rcc!/gcompris/src/activities/explore_farm_animals/resource/animals/owl.webp	CC0-1.0 (per-file README in the .rcc, author: Lepale); package GPL-3+	owl (animal)	Wikimedia Commons File:Owl_The_Nightbird.jpg
none	pig	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_farm_animals.rcc!/gcompris/src/activities/explore_farm_animals/resource/animals/pig.webp	Public Domain (per-file README in the .rcc, author: Teinesavaii); package GPL-3+	pig (animal)	Wikimedia Commons File:Pig_1,_Savaii,_Samoa.JPG
none	sheep	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_farm_animals.rcc!/gcompris/src/activities/explore_farm_animals/resource/animals/sheep.webp	CC0-1.0 (per-file README in the .rcc, author: Rob Mitchell); package GPL-3+	sheep (animal)	Wikimedia Commons File:Sheep_(33625876592).jpg
none	colosseum	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/wonders/colosseum.webp	Public Domain (per-file README in the .rcc, author: Urse Ovidiu); package GPL-3+	colosseum (monument/landmark)	Wikimedia Commons File:Colosseum_Roma_2009.jpg
none	great_wallof_china	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/wonders/greatWallofChina.webp	CC0-1.0 (per-file README in the .rcc, author: Nicolas Perrault III); package GPL-3+	great wallof china (monument/landmark)	Wikimedia Commons File:Great_Wall_of_China_July_2006.JPG
none	machu_picchu	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/wonders/machuPicchu.webp	CC0-1.0 (per-file README in the .rcc, author: Guillaume Pascal); package GPL-3+	machu picchu (monument/landmark)	Wikimedia Commons File:Yet_another_pic_of_machu_picchu.jpg
none	petra	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/wonders/petra.webp	Public Domain (per-file README in the .rcc, author: Berthold Werner); package GPL-3+	petra (monument/landmark)	Wikimedia Commons File:Petra_Jordan_BW_36.JPG
none	charminar	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/india/charminar.webp	Public Domain (per-file README in the .rcc, author: Goutamkhandelwal); package GPL-3+	charminar (monument/landmark)	Wikimedia Commons File:Charminar_1.JPG
none	hawa_mahal	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/india/hawaMahal.webp	Public Domain (per-file README in the .rcc, author: Janwiki); package GPL-3+	hawa mahal (monument/landmark)	Wikimedia Commons File:Hawa_Mahal,_Jaipur,_India.jpg
none	mysore_palace	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/india/mysorePalace.webp	Public Domain (per-file README in the .rcc, author: Shiva sg); package GPL-3+	mysore palace (monument/landmark)	Wikimedia Commons File:Mysore_Palace_2006.jpg
none	qutub_minar	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/india/qutubMinar.webp	CC0-1.0 (per-file README in the .rcc, author: pramadas); package GPL-3+	qutub minar (monument/landmark)	Wikimedia Commons File:Qutubmin.jpg
none	arles_amphitheater	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/france/arlesAmphitheater.webp	Public Domain (per-file README in the .rcc, author: (WT-fr) OT Arles); package GPL-3+	arles amphitheater (monument/landmark)	Wikimedia Commons File:Arenes_arles.JPG
none	chateaude_chambord	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/france/chateaudeChambord.webp	Public Domain (per-file README in the .rcc, author: BjörnT); package GPL-3+	chateaude chambord (monument/landmark)	Wikimedia Commons File:Chambord_Frontansicht.JPG
none	chateaude_chenonceau	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/france/chateaudeChenonceau.webp	Public Domain (per-file README in the .rcc, author: Alf van Beem); package GPL-3+	chateaude chenonceau (monument/landmark)	Wikimedia Commons File:Ch%C3%A2teau_de_Chenonceau_photo_1.JPG
none	eiffel_tower	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/france/eiffelTower.webp	Public Domain (per-file README in the .rcc, author: Tognopop); package GPL-3+	eiffel tower (monument/landmark)	Wikimedia Commons File:Eiffel_Tower_20051010.jpg
none	mont_st_michel	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/france/montStMichel.webp	CC0-1.0 (per-file README in the .rcc, author: Ali Sabbagh); package GPL-3+	mont st michel (monument/landmark)	Wikimedia Commons File:Mont_Saint-Michel_IMG_5109_(48875955288).jpg
none	pontdu_gard	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/france/pontduGard.webp	Public Domain (per-file README in the .rcc, author: Mimova); package GPL-3+	pontdu gard (monument/landmark)	Wikimedia Commons File:Pontdugard.jpg
none	reims_cathedral	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/france/reimsCathedral.webp	Public Domain (per-file README in the .rcc, author: Mattana); package GPL-3+	reims cathedral (monument/landmark)	Wikimedia Commons File:Reims_Cathedrale_Notre_Dame_002_chevet.JPG
none	berlin_cathedral	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/germany/berlinCathedral.webp	CC0-1.0 (per-file README in the .rcc, author: Gary Todd); package GPL-3+	berlin cathedral (monument/landmark)	Wikimedia Commons File:Berlin_Cathedral_(28668994926).jpg
none	brandenburg_gate	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/germany/brandenburgGate.webp	Public Domain (per-file README in the .rcc, author: Evans1551); package GPL-3+	brandenburg gate (monument/landmark)	Wikimedia Commons File:Brandenburg_Gate_(summer_2005).JPG
none	neuschwanstein_castle	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/germany/neuschwansteinCastle.webp	CC0-1.0 (per-file README in the .rcc, author: cameralends); package GPL-3+	neuschwanstein castle (monument/landmark)	Wikimedia Commons File:Neuschwanstein_Castle_(532850).jpg
none	canyonde_chelly	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/usa/canyondeChelly.webp	Public Domain (per-file README in the .rcc, author: Nikater); package GPL-3+	canyonde chelly (monument/landmark)	Wikimedia Commons File:Canyon_de_chelly09.jpg
none	lincoln_memorial	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/usa/lincolnMemorial.webp	CC0-1.0 (per-file README in the .rcc, author: Brylie Christopher Oxley); package GPL-3+	lincoln memorial (monument/landmark)	Wikimedia Commons File:US-WashingtonDC-LincolnMemorial-20140312_014138_HDR_v1.JPG
none	mount_rushmore	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/usa/mountRushmore.webp	CC0-1.0 (per-file README in the .rcc, author: Eekim); package GPL-3+	mount rushmore (monument/landmark)	Wikimedia Commons File:Mount_Rushmore,_Keystone,_South_Dakota.jpg
none	statueof_liberty	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/usa/statueofLiberty.webp	Public Domain (per-file README in the .rcc, author: (WT-shared) Ypsilonatshared); package GPL-3+	statueof liberty (monument/landmark)	Wikimedia Commons File:Liberty_enlightening_the_world.JPG
none	great_pyramid_of_giza	gcompris-qt-data	usr/share/gcompris-qt/rcc/explore_monuments.rcc!/gcompris/src/activities/explore_monuments/resource/egypt/greatPyramidOfGiza.webp	CC0-1.0 (per-file README in the .rcc, author: Gary Todd); package GPL-3+	great pyramid of giza (monument/landmark)	Wikimedia Commons File:Giza_Great_Pyramid_of_Khufu_(9793952173).jpg
ITEMS

mkdir -p "$DEST"
python3 - "$WORK" "$DEST" "$MAX_SIDE" "$QUALITY" "$MANIFEST" "$ONLY" "$PACKAGES" <<'PY'
import io, os, struct, sys, zlib
from PIL import Image

work, dest, max_side, quality, manifest, only, packages = sys.argv[1:8]
max_side, quality = int(max_side), int(quality)
versions = {l.split()[0]: l.split()[1] for l in packages.strip().splitlines()}

def rcc_files(path):
    """Qt binary resource (.rcc) -> {'/inner/path': bytes}."""
    b = open(path, 'rb').read()
    assert b[:4] == b'qres', path
    ver, tree, data, names = struct.unpack('>IIII', b[4:20])
    node = 14 + (8 if ver >= 2 else 0)
    def name(off):
        n, = struct.unpack('>H', b[names + off:names + off + 2])
        return b[names + off + 6:names + off + 6 + 2 * n].decode('utf-16-be')
    out = {}
    def walk(i, prefix):
        p = tree + i * node
        noff, flags = struct.unpack('>IH', b[p:p + 6])
        full = prefix + '/' + name(noff) if i else ''
        if flags & 2:
            cnt, first = struct.unpack('>II', b[p + 6:p + 14])
            for c in range(first, first + cnt):
                walk(c, full)
        else:
            doff, = struct.unpack('>I', b[p + 10:p + 14])
            sz, = struct.unpack('>I', b[data + doff:data + doff + 4])
            raw = b[data + doff + 4:data + doff + 4 + sz]
            if flags & 1:
                raw = zlib.decompress(raw[4:])
            out[full] = raw
    walk(0, '')
    return out

wanted = None
if only:
    wanted = {}
    for line in open(only):
        parts = line.split()
        if parts and not parts[0].startswith('#'):
            wanted[parts[0]] = parts[1] if len(parts) > 1 else parts[0].split('/')[0]

rccs = {}
rows = []
for line in open(os.path.join(work, 'items.tsv'), encoding='utf-8'):
    line = line.rstrip('\n')
    if not line:
        continue
    cat, name, pkg, path, lic, shows, notes = (line.split('\t') + [''] * 7)[:7]
    key = f'{cat}/{name}'
    if wanted is not None:
        if key not in wanted:
            continue
        cat = wanted[key]
    root = os.path.join(work, 'x', pkg)
    if '!' in path:
        rcc, inner = path.split('!', 1)
        if rcc not in rccs:
            rccs[rcc] = rcc_files(os.path.join(root, rcc))
        data = rccs[rcc][inner]
    else:
        data = open(os.path.join(root, path), 'rb').read()
    im = Image.open(io.BytesIO(data))
    if im.mode in ('RGBA', 'LA', 'P', 'PA'):
        im = im.convert('RGBA')
        bg = Image.new('RGBA', im.size, (255, 255, 255, 255))
        bg.alpha_composite(im)
        im = bg
    im = im.convert('RGB')
    if max(im.size) > max_side:
        im.thumbnail((max_side, max_side), Image.LANCZOS)
    os.makedirs(os.path.join(dest, cat), exist_ok=True)
    rel = f'{cat}/{name}.jpg'
    out = os.path.join(dest, rel)
    im.save(out, 'JPEG', quality=quality)
    group = 'none' if cat == 'none' else ('tool' if cat == 'tool' else 'vehicle')
    rows.append([rel, group, shows, pkg, f'{versions[pkg]} (Debian bookworm .deb)', path, lic,
                 f'{im.size[0]}x{im.size[1]}', str(os.path.getsize(out)), notes])

with open(os.path.join(dest, manifest), 'w', encoding='utf-8') as f:
    f.write('filename\tgroup\tshows\tsource_package\tsource_version\tpath_in_package\tlicense\tpixels\tbytes\tnotes\n')
    for r in rows:
        f.write('\t'.join(r) + '\n')
counts = {}
for r in rows:
    counts[r[0].split('/')[0]] = counts.get(r[0].split('/')[0], 0) + 1
print(' '.join(f'{k}={v}' for k, v in sorted(counts.items())), f'total={len(rows)}')
PY
